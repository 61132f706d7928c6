package dev.roverlogout.testing;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** Query plans as PostgreSQL's EXPLAIN prints them, for tests that pin the shape of a hot statement's plan. */
public final class Plans {
    private Plans() {
    }

    /** The lines of {@code explain} (an EXPLAIN statement), joined with newlines. */
    public static String explain(Statement s, String explain) throws SQLException {
        StringBuilder plan = new StringBuilder();
        try (ResultSet rs = s.executeQuery(explain)) {
            while (rs.next()) {
                plan.append(rs.getString(1)).append('\n');
            }
        }
        return plan.toString();
    }
}
