package dev.roverlogout.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;

import dev.roverlogout.testing.Browser;
import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.Idp;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.json.JsonObject;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;

/**
 * People sign in to the console with the identity provider (authorization code + PKCE, the console a public client):
 * a viewer is offered nothing that changes things, a tenant's admin never sees another tenant, and a session that
 * expires mid-form sends the person back to sign in without losing what they typed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleSignInTest {
    private Idp idp;
    private TestGateway gw;
    private Http http;
    private Browser browser;
    private WebDriver driver;

    @BeforeAll
    void start() {
        idp = new Idp();
        Map<String, String> env = new HashMap<>(idp.gatewayConfig());
        env.put("RLG_AUTH_OIDC_CONSOLECLIENTID", "rlg-console");
        gw = TestGateway.start(env);
        http = new Http();
        for (String t : List.of("tenant-a", "tenant-b")) {
            assertThat(http.post(gw.managementPort(), "/admin/tenants", TestGateway.ADMIN, new JsonObject().put("id", t))
                    .statusCode()).isEqualTo(201);
        }
        for (String[] e : new String[][] {{"a-env", "tenant-a"}, {"b-env", "tenant-b"}}) {
            assertThat(http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN,
                    Fixtures.environment(e[0]).put("tenantId", e[1])).statusCode()).isEqualTo(201);
            assertThat(http.post(gw.managementPort(), "/admin/environments/" + e[0] + "/activate", TestGateway.ADMIN, null)
                    .statusCode()).isEqualTo(200);
        }
        browser = new Browser("sign-in");
        driver = browser.driver();
    }

    @AfterAll
    void stop() {
        if (browser != null) {
            browser.close();
        }
        http.close();
        gw.close();
        idp.close();
    }

    /** The provider's next sign-in: this person, with these claims in the access token for the gateway. */
    private void nextSignIn(String subject, String role, String tenant, long lifetimeSeconds) {
        idp.server().enqueueCallback(new DefaultOAuth2TokenCallback(Idp.ISSUER_ID, subject, "JWT", List.of(Idp.AUDIENCE),
                Map.of("roles", List.of(role), "tenants", List.of(tenant), "name", "Person " + subject), lifetimeSeconds));
    }

    private void signIn() {
        driver.get("http://127.0.0.1:" + gw.managementPort() + "/console/");
        browser.await(10, d -> d.findElements(By.id("oidc-sign-in")).stream().filter(WebElement::isDisplayed).findFirst()
                .orElse(null)).click();
        browser.await(15, d -> d.findElements(By.id("env-table")).isEmpty() ? null : true);
        assertThat(driver.getCurrentUrl()).as("the code left the URL").doesNotContain("code=").doesNotContain("state=");
    }

    private List<String> environmentIds() {
        browser.await(10, d -> d.findElements(By.cssSelector("#env-rows tr")).isEmpty() ? null : true);
        return driver.findElements(By.cssSelector("#env-rows tr[data-id]")).stream().map(r -> r.getAttribute("data-id")).toList();
    }

    private String text(String id) {
        return browser.text(id);
    }

    private void signOut() {
        driver.findElement(By.id("sign-out")).click();
        browser.await(10, d -> d.findElements(By.id("oidc-sign-in")).isEmpty() ? null : true);
    }

    @Test
    @DisplayName("OIDC sign-in with PKCE: a viewer of tenant A sees A's environments and no button that changes anything; "
            + "an admin of A can add environments but never sees B")
    void rolesAndTenants() {
        nextSignIn("vera", "viewer", "tenant-a", 3600);
        signIn();
        assertThat(text("person")).contains("Person vera").contains("viewer").contains("tenant-a");
        assertThat(environmentIds()).containsExactly("a-env");
        assertThat(driver.findElements(By.id("add-environment"))).isEmpty();
        browser.screenshot("viewer");
        driver.findElement(By.linkText("Test a-env")).click();
        browser.await(10, d -> d.findElements(By.id("settings-form")).isEmpty() ? null : true);
        assertThat(driver.findElements(By.cssSelector("#env-actions button, #settings-save, #rotate-key, #credential-form, "
                + "button.replay-one, button.revoke"))).as("a viewer is offered nothing that changes things").isEmpty();
        assertThat(driver.findElement(By.id("set-displayName")).getAttribute("readonly")).isNotNull();
        assertThat(driver.findElements(By.id("env-test-connection"))).as("testing a connection is for operators").isEmpty();
        browser.screenshot("viewer-environment");
        signOut();

        nextSignIn("otto", "operator", "tenant-a", 3600);
        signIn();
        driver.findElement(By.linkText("Test a-env")).click();
        browser.await(10, d -> d.findElements(By.id("settings-form")).isEmpty() ? null : true);
        assertThat(driver.findElements(By.id("env-test-connection"))).hasSize(1);
        assertThat(driver.findElements(By.id("action-pause"))).as("an operator pauses").hasSize(1);
        assertThat(driver.findElements(By.cssSelector("#action-disable, #settings-save, #rotate-key, #credential-form")))
                .as("but changes no settings, keys or credentials").isEmpty();
        signOut();

        nextSignIn("ada", "admin", "tenant-a", 3600);
        signIn();
        assertThat(environmentIds()).containsExactly("a-env");
        assertThat(driver.findElements(By.id("add-environment"))).hasSize(1);
        driver.get("http://127.0.0.1:" + gw.managementPort() + "/console/#/env/b-env");
        browser.await(10, d -> d.findElements(By.cssSelector("#view .errors")).isEmpty() ? null : true);
        assertThat(driver.findElement(By.cssSelector("#view .errors")).getText()).contains("no environment with id 'b-env'");
        driver.get("http://127.0.0.1:" + gw.managementPort() + "/console/#/audit");
        browser.await(10, d -> d.findElements(By.id("audit-rows")).isEmpty() ? null : true);
        assertThat(text("audit-rows")).doesNotContain("tenant-b").doesNotContain("b-env");
        signOut();
    }

    @Test
    @DisplayName("a session that expires while the Add dialog is half filled: back to sign-in with a message, and the "
            + "dialog comes back with what was typed")
    void expiryKeepsTheForm() {
        // valid for about 8 s: exp 52 s ago, inside the gateway's 60 s clock skew
        nextSignIn("eve", "admin", "tenant-a", -52);
        signIn();
        driver.findElement(By.id("add-environment")).click();
        browser.await(5, d -> d.findElements(By.id("add-displayName")).isEmpty() ? null : true);
        driver.findElement(By.id("add-displayName")).sendKeys("Half Filled PRD");
        driver.findElement(By.id("add-interconnectUrl")).sendKeys("https://epic.half.example.org");
        // the list behind the dialog refreshes every 5 s; once the token is refused the console asks to sign in again
        String message = browser.await(30, d -> {
            String t = text("login-message");
            return t == null || t.isEmpty() ? null : t;
        });
        assertThat(message).contains("session has ended").contains("kept");
        assertThat(driver.findElement(By.id("who")).isDisplayed()).as("nobody is shown as signed in").isFalse();
        assertThat(driver.findElement(By.id("nav")).isDisplayed()).isFalse();
        browser.screenshot("session-ended");
        nextSignIn("eve", "admin", "tenant-a", 3600);
        driver.findElement(By.id("oidc-sign-in")).click();
        browser.await(15, d -> d.findElements(By.id("add-environment")).isEmpty() ? null : true);
        driver.findElement(By.id("add-environment")).click();
        browser.await(5, d -> d.findElements(By.id("add-displayName")).isEmpty() ? null : true);
        assertThat(driver.findElement(By.id("add-displayName")).getAttribute("value")).isEqualTo("Half Filled PRD");
        assertThat(driver.findElement(By.id("add-interconnectUrl")).getAttribute("value")).isEqualTo("https://epic.half.example.org");
    }
}
