package dev.roverlogout.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.function.BooleanSupplier;

/** Waits for something asynchronous to become true (a notification, a lane's calls); fails after a bound. */
public final class Await {
    private Await() {
    }

    public static void until(BooleanSupplier condition, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("reached within " + seconds + " s").isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
