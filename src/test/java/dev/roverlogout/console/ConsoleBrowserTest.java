package dev.roverlogout.console;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.NoAlertPresentException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;

import dev.roverlogout.testing.Browser;
import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.SimulatedEpic;
import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;

/**
 * The admin console in a real Chromium against a real gateway and the Epic simulator: the "Add Epic Environment" flow
 * of the product from sign-in to Ready, check-ins showing up as calls and in the device timeline, pause and resume,
 * a dead letter replayed; what the page shows of hostile names; its security headers; keyboard use. Screenshots of
 * each step land in {@code target/console-screenshots/}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleBrowserTest {
    static final String ENV = "console-sandbox";
    static final String INSTANCE = "sbx";
    static final String CLIENT = "console-client";

    private TestGateway gw;
    private Http http;
    private SimulatedEpic sim;
    private Browser browser;
    private WebDriver driver;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of("RLG_DISPATCH_ENABLED", "true", "RLG_EPIC_READINESSPROBEINTERVAL", "1s",
                "RLG_DISPATCH_POLLINTERVAL", "200ms", "RLG_METRICS_QUEUESTATSINTERVAL", "500ms"));
        http = new Http();
        sim = new SimulatedEpic(gw, http, new JsonArray().add(SimulatedEpic.instance(gw, INSTANCE, CLIENT, ENV)));
        browser = new Browser("browser");
        driver = browser.driver();
    }

    @AfterAll
    void stop() {
        if (browser != null) {
            browser.close();
        }
        sim.close();
        http.close();
        gw.close();
    }

    private String console() {
        return "http://127.0.0.1:" + gw.managementPort() + "/console/";
    }

    private WebElement id(String id) {
        return driver.findElement(By.id(id));
    }

    private WebElement awaitId(String id) {
        return browser.await(10, d -> d.findElements(By.id(id)).stream().filter(WebElement::isDisplayed).findFirst().orElse(null));
    }

    private void type(String id, String text) {
        WebElement e = id(id);
        e.clear();
        e.sendKeys(text);
    }

    /** The cells of an environment's row, read in one go (the table is redrawn every few seconds). */
    @SuppressWarnings("unchecked")
    private List<String> cells(String environmentId) {
        return (List<String>) ((org.openqa.selenium.JavascriptExecutor) driver).executeScript(
                "const r = document.querySelector(\"#env-rows tr[data-id='\" + arguments[0] + \"']\");"
                        + "return r ? [...r.cells].map(c => c.textContent) : null;", environmentId);
    }

    private String text(String elementId) {
        return browser.text(elementId);
    }

    private String awaitText(String elementId, java.util.function.Predicate<String> ok) {
        return browser.await(15, d -> {
            String t = text(elementId);
            return t != null && ok.test(t) ? t : null;
        });
    }

    private String rowText(String environmentId) {
        return browser.await(10, d -> {
            List<String> c = cells(environmentId);
            return c == null ? null : String.join(" | ", c);
        });
    }

    /** Signs in with the admin token, unless this tab still holds a session. */
    private void signInWithToken() {
        driver.get(console());
        WebElement first = browser.await(10, d -> d.findElements(By.cssSelector("#token-input, #env-table")).stream()
                .filter(WebElement::isDisplayed).findFirst().orElse(null));
        if ("token-input".equals(first.getAttribute("id"))) {
            first.sendKeys(TestGateway.ADMIN);
            id("token-submit").click();
        }
        awaitId("env-table");
    }

    @Test
    @Order(1)
    @DisplayName("the seed flow in the browser: sign in, add an environment (a field error, then a failing and a green "
            + "connection test), hand over JWKS URL and PEM, Pending turns Ready by itself, check-ins become calls and a "
            + "device timeline, pause and resume, a dead letter replayed")
    void seedFlow() throws Exception {
        driver.get(console());
        awaitId("token-input");
        browser.screenshot("sign-in");
        signInWithToken();
        assertThat(id("person").getText()).contains("admin").contains("all tenants");
        browser.screenshot("empty-list");

        // Add Epic Environment: display name, URL, instance; the client id forgotten first
        id("add-environment").click();
        awaitId("add-dialog");
        type("add-displayName", "Console Sandbox");
        type("add-interconnectUrl", "http://127.0.0.1:9"); // nothing listens there
        type("add-instance", INSTANCE);
        assertThat(id("add-id").getAttribute("value")).as("the id follows the display name").isEqualTo(ENV);
        driver.findElement(By.cssSelector("#add-advanced summary")).click();
        id("add-allowInsecure").click();
        id("test-connection").click();
        String clientError = browser.await(10, d -> {
            String t = d.findElement(By.id("add-clientId-error")).getText();
            return t.isEmpty() ? null : t;
        });
        assertThat(clientError).as("the API's field error next to the field").isNotBlank();
        browser.screenshot("add-field-error");
        assertThat(TestPostgres.count(gw.databaseUrl(), "SELECT count(*) FROM environment WHERE id = ?", ENV)).isZero();

        type("add-clientId", CLIENT);
        id("test-connection").click();
        browser.await(15, d -> d.findElements(By.cssSelector("#test-steps li[data-status='failed']")).isEmpty() ? null : true);
        assertThat(driver.findElement(By.cssSelector("#test-steps li[data-step='dns']")).getAttribute("data-status")).isEqualTo("ok");
        assertThat(driver.findElement(By.cssSelector("#test-steps li[data-step='http']")).getText()).contains("Fail");
        browser.screenshot("test-connection-failing");

        type("add-interconnectUrl", sim.url());
        id("test-connection").click();
        browser.await(15, d -> {
            List<WebElement> token = d.findElements(By.cssSelector("#test-steps li[data-step='token']"));
            return !token.isEmpty() && "ok".equals(token.get(0).getAttribute("data-status")) ? true : null;
        });
        assertThat(driver.findElements(By.cssSelector("#test-steps li[data-status='failed']"))).isEmpty();
        browser.screenshot("test-connection-green");

        id("add-next").click();
        WebElement jwks = awaitId("handoff-jwks");
        assertThat(jwks.getAttribute("value")).endsWith("/jwks/" + ENV + ".json");
        assertThat(id("handoff-client").getText()).isEqualTo(CLIENT);
        id("download-pem").click();
        Path pem = browser.await(10, d -> browser.downloaded().stream().filter(p -> p.toString().endsWith(".pem")).findFirst().orElse(null));
        assertThat(Files.readString(pem)).contains("BEGIN CERTIFICATE");
        browser.screenshot("hand-to-epic");
        id("add-done").click();

        // Pending, then Ready by itself: the readiness prober sees Epic accept the key
        assertThat(rowText(ENV)).contains("Console Sandbox");
        browser.await(20, d -> rowText(ENV).contains("Ready") ? true : null);
        browser.screenshot("ready");

        // check-ins through the API become calls, visible in the list and in the device timeline
        JsonArray events = new JsonArray();
        for (int i = 0; i < 5; i++) {
            events.add(checkIn("console-e" + i, ENV, "ipad-00" + i, "2026-11-30T07:00:0" + i + "Z"));
        }
        assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject().put("events", events))
                .statusCode()).isEqualTo(202);
        browser.await(30, d -> {
            List<String> row = cells(ENV);
            return row != null && !"0".equals(row.get(5)) ? true : null; // "Calls (5 min)"
        });
        // the README's picture of the Epic Logout page (docs/console-epic-logout.png is a copy of this file)
        Files.copy(browser.screenshot("epic-logout"), Browser.SCREENSHOTS.resolve("epic-logout-page.png"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        driver.findElement(By.linkText("Console Sandbox")).click();
        WebElement accepted = awaitId("env-accepted");
        assertThat(accepted.getText()).startsWith("Epic accepted our key at");
        assertThat(driver.findElements(By.cssSelector("#activity svg"))).hasSize(1);
        assertThat(text("keys-table")).contains("In use since");
        id("env-test-connection").click();
        awaitText("env-test-steps", t -> t.contains("Token"));
        assertThat(driver.findElement(By.cssSelector("#env-test-steps li[data-step='token']")).getAttribute("data-status"))
                .isEqualTo("ok");
        browser.fullScreenshot("environment");

        id("action-pause").click();
        driver.switchTo().alert().accept();
        awaitText("env-status", t -> t.contains("Paused"));
        id("action-resume").click();
        driver.switchTo().alert().accept();
        awaitText("env-status", t -> t.contains("Ready"));

        // device lookup: the timeline of ipad-000
        driver.findElement(By.linkText("Device lookup")).click();
        awaitId("device-id");
        type("device-id", "ipad-000");
        new org.openqa.selenium.support.ui.Select(id("device-env")).selectByValue(ENV);
        id("device-lookup").click();
        String timeline = awaitText("timeline", t -> !t.isEmpty());
        assertThat(timeline).contains("Check-in").contains("Call to Epic").contains("HTTP 200");
        String requestId = TestPostgres.column(gw.databaseUrl(), "SELECT request_id FROM device_event WHERE device_id = 'ipad-000'").get(0).toString();
        assertThat(timeline).contains(requestId);
        browser.screenshot("device-timeline");

        // a dead letter (the state a call that failed for good leaves), replayed from the environment page
        long job = (Long) TestPostgres.column(gw.databaseUrl(), "UPDATE disassociation_job SET state = 'failed', "
                + "last_status = 400, last_error = 'INVALID-DEVICE from Epic' WHERE device_id = 'ipad-001' RETURNING id").get(0);
        driver.get(console() + "#/env/" + ENV);
        WebElement dead = browser.await(10, d -> d.findElements(By.cssSelector("#dead-letters tr[data-job='" + job + "']"))
                .stream().findFirst().orElse(null));
        assertThat(dead.getText()).contains("INVALID-DEVICE from Epic");
        browser.fullScreenshot("dead-letter");
        dead.findElement(By.cssSelector("button.replay-one")).click();
        String replayed = awaitText("notice", t -> !t.isEmpty());
        assertThat(replayed).startsWith("Replayed 1");
        browser.await(20, d -> "done".equals(TestPostgres.column(gw.databaseUrl(),
                "SELECT state FROM disassociation_job WHERE id = ?", job).get(0)) ? true : null);

        // the audit page shows what the person did, newest first
        driver.findElement(By.linkText("Audit")).click();
        String audit = awaitText("audit-rows", t -> t.contains("environment."));
        assertThat(audit).contains("dead-letters.replay").contains("environment.resume").contains("environment.create");
        browser.screenshot("audit");
    }

    @Test
    @Order(2)
    @DisplayName("a hostile display name shows as text: no element, no script")
    void hostileNamesAreText() {
        String hostile = "<img src=x onerror=alert(1)>";
        JsonObject env = Fixtures.environment("console-xss").put("displayName", hostile);
        assertThat(http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, env).statusCode()).isEqualTo(201);
        signInWithToken();
        assertThat(rowText("console-xss")).contains(hostile);
        assertThat(driver.findElements(By.cssSelector("#env-table img"))).isEmpty();
        driver.findElement(By.linkText(hostile)).click();
        awaitId("settings-form");
        assertThat(driver.findElement(By.tagName("h1")).getText()).contains(hostile);
        boolean alerted;
        try {
            driver.switchTo().alert();
            alerted = true;
        } catch (NoAlertPresentException e) {
            alerted = false;
        }
        assertThat(alerted).as("the onerror handler never ran").isFalse();
        browser.screenshot("hostile-name");
    }

    @Test
    @Order(5)
    @DisplayName("an MDM mismatch reads as words on the list and the environment page: which two AppConfig keys to compare")
    void mdmDiagnosisShown() throws Exception {
        JsonArray unknown = new JsonArray();
        JsonArray events = new JsonArray();
        for (int i = 0; i < 55; i++) {
            unknown.add("mdm-serial-" + i);
            events.add(Fixtures.checkIn("mdm-ev-" + i, "console-mdm", "mdm-serial-" + i, "2026-11-30T07:00:00Z"));
        }
        sim.configure("MDM-CONSOLE", SimulatedEpic.instance(gw, "MDM-CONSOLE", "client-mdm-console", "console-mdm")
                .put("unknownDevices", unknown));
        assertThat(http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, Fixtures.environment("console-mdm")
                .put("displayName", "MDM check").put("interconnectUrl", sim.url()).put("instance", "MDM-CONSOLE")
                .put("clientId", "client-mdm-console").put("allowInsecure", true).put("rateLimitPerSecond", 200)
                .put("burst", 200)).statusCode()).isEqualTo(201);
        assertThat(http.post(gw.managementPort(), "/admin/environments/console-mdm/activate", TestGateway.ADMIN, null)
                .statusCode()).isEqualTo(200);
        assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject().put("events", events))
                .statusCode()).isEqualTo(202);
        dev.roverlogout.testing.Await.until(() -> http.get(gw.managementPort(), "/admin/queue?environmentId=console-mdm",
                TestGateway.ADMIN).bodyAsJsonObject().getJsonArray("environments").getJsonObject(0).containsKey("diagnosis"), 60);
        signInWithToken();
        String row = browser.await(15, d -> {
            List<String> c = cells("console-mdm");
            String text = c == null ? "" : String.join(" | ", c);
            return text.contains("epicRoverEpicMobileDeviceID") ? text : null;
        });
        assertThat(row).contains("not associated").contains("EpicMobileDeviceID");
        driver.findElement(By.linkText("MDM check")).click();
        assertThat(awaitText("env-diagnosis", t -> t.contains("EpicMobileDeviceID")))
                .startsWith("Check the MDM set-up:").contains("55 of the 55 calls").contains("epicRoverEpicMobileDeviceID");
        browser.screenshot("mdm-diagnosis");
    }

    @Test
    @Order(3)
    @DisplayName("every console answer carries the strict CSP; the console is not on the public port")
    void headers() {
        for (String path : List.of("/console/", "/console/console.js", "/console/console.css", "/console/config.json",
                "/console/no-such-file")) {
            HttpResponse<Buffer> r = http.get(gw.managementPort(), path, null);
            String csp = r.getHeader("Content-Security-Policy");
            assertThat(csp).as(path).contains("script-src 'self'").contains("style-src 'self'")
                    .contains("frame-ancestors 'none'").doesNotContain("unsafe-inline").doesNotContain("unsafe-eval");
            assertThat(r.getHeader("X-Content-Type-Options")).as(path).isEqualTo("nosniff");
        }
        assertThat(http.get(gw.managementPort(), "/console/no-such-file", null).statusCode()).isEqualTo(404);
        for (String path : List.of("/console/", "/console/console.js", "/console/config.json")) {
            assertThat(http.get(gw.publicPort(), path, null).statusCode()).as("public port " + path).isEqualTo(404);
        }
        String page = http.get(gw.managementPort(), "/console/", null).bodyAsString();
        assertThat(page).as("no inline script or style").doesNotContain("<script>").doesNotContain("style=")
                .doesNotContain("<style");
    }

    @Test
    @Order(4)
    @DisplayName("the Add dialog with the keyboard alone: every input has a label, Tab moves, Enter tests the connection")
    void keyboard() {
        signInWithToken();
        id("add-environment").sendKeys(Keys.ENTER);
        awaitId("add-dialog");
        List<WebElement> inputs = driver.findElements(By.cssSelector("#add-dialog input, #add-dialog select"));
        assertThat(inputs).hasSizeGreaterThanOrEqualTo(9);
        for (WebElement input : inputs) {
            String inputId = input.getAttribute("id");
            assertThat(driver.findElements(By.cssSelector("label[for='" + inputId + "']"))).as("a label for " + inputId).hasSize(1);
        }
        assertActive("add-displayName"); // the dialog opens on its first field
        active().sendKeys("Keyboard Only", Keys.TAB);
        assertActive("add-interconnectUrl");
        active().sendKeys(sim.url(), Keys.TAB);
        assertActive("add-instance");
        active().sendKeys(INSTANCE, Keys.TAB);
        if ("add-tenantId".equals(active().getAttribute("id"))) {
            active().sendKeys(Keys.TAB); // a platform admin picks the tenant here; the first is fine
        }
        active().sendKeys(Keys.ENTER); // the Advanced summary: opens it
        active().sendKeys(Keys.TAB);
        assertActive("add-id");
        assertThat(active().getAttribute("value")).isEqualTo("keyboard-only");
        active().sendKeys(Keys.TAB);
        assertActive("add-clientId");
        active().sendKeys("keyboard-client");
        for (int i = 0; i < 5; i++) { // rate limit, burst, concurrency, algorithm, allow plain http
            active().sendKeys(Keys.TAB);
        }
        assertActive("add-allowInsecure");
        active().sendKeys(Keys.SPACE);
        active().sendKeys(Keys.chord(Keys.SHIFT, Keys.TAB));
        active().sendKeys(Keys.chord(Keys.SHIFT, Keys.TAB));
        assertActive("add-maxConcurrency");
        active().sendKeys(Keys.ENTER); // Enter in a field submits the form: create and test the connection
        browser.await(15, d -> d.findElements(By.cssSelector("#test-steps li[data-step='dns']")).isEmpty() ? null : true);
        assertThat(TestPostgres.count(gw.databaseUrl(), "SELECT count(*) FROM environment WHERE id = 'keyboard-only'")).isEqualTo(1);
        browser.screenshot("keyboard-dialog");
        active().sendKeys(Keys.ESCAPE);
        browser.await(5, d -> d.findElements(By.id("add-dialog")).isEmpty() ? true : null);
    }

    private WebElement active() {
        return driver.switchTo().activeElement();
    }

    private void assertActive(String id) {
        assertThat(active().getAttribute("id")).as("keyboard focus").isEqualTo(id);
    }
}
