package dev.roverlogout.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's headless Chromium driven by Selenium, for the console tests. Needs the packages {@code chromium} and
 * {@code chromium-driver} ({@code .ci/run} installs them); without them the test fails saying so.
 */
public final class Browser implements AutoCloseable {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path DRIVER = Path.of("/usr/bin/chromedriver");
    public static final Path SCREENSHOTS = Path.of("target", "console-screenshots");

    private final ChromeDriver driver;
    private final Path downloads;
    private final String prefix;
    private int shots;

    /** @param prefix names this browser's screenshots ({@code prefix-NN-step.png}); older ones of it are deleted */
    public Browser(String prefix) {
        this.prefix = prefix;
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(DRIVER)) {
            throw new IllegalStateException("the console tests need Chromium and its driver: apt-get install chromium "
                    + "chromium-driver (Debian packages; .ci/run installs them), expected " + CHROMIUM + " and " + DRIVER);
        }
        try {
            downloads = Files.createTempDirectory("rlg-downloads");
            Files.createDirectories(SCREENSHOTS);
            try (var old = Files.list(SCREENSHOTS)) {
                for (Path p : old.filter(p -> p.getFileName().toString().startsWith(prefix + "-")).toList()) {
                    Files.delete(p);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                "--disable-gpu", "--no-first-run", "--disable-extensions");
        options.setExperimentalOption("prefs", Map.of("download.default_directory", downloads.toString(),
                "download.prompt_for_download", false));
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile())
                .usingAnyFreePort().build();
        driver = new ChromeDriver(service, options);
        driver.manage().timeouts().implicitlyWait(Duration.ZERO);
    }

    public WebDriver driver() {
        return driver;
    }

    public Path downloads() {
        return downloads;
    }

    /** Waits up to {@code seconds} until {@code condition} gives a non-null, non-false value. */
    public <T> T await(int seconds, Function<WebDriver, T> condition) {
        return new WebDriverWait(driver, Duration.ofSeconds(seconds), Duration.ofMillis(100)).until(condition);
    }

    /** The text of the element with this id, or null; read in one script (no stale element between find and read). */
    public String text(String elementId) {
        return (String) driver.executeScript(
                "const e = document.getElementById(arguments[0]); return e ? e.textContent : null;", elementId);
    }

    /** Saves a screenshot as {@code target/console-screenshots/prefix-NN-name.png}. */
    public Path screenshot(String name) {
        try {
            Path file = SCREENSHOTS.resolve(String.format("%s-%02d-%s.png", prefix, ++shots, name));
            Files.write(file, ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
            return file;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A screenshot of the whole page (the window made as tall as the page for the moment). */
    public Path fullScreenshot(String name) {
        long height = (Long) driver.executeScript("return document.documentElement.scrollHeight;");
        driver.manage().window().setSize(new org.openqa.selenium.Dimension(1400, (int) Math.min(4000, height + 140)));
        try {
            return screenshot(name);
        } finally {
            driver.manage().window().setSize(new org.openqa.selenium.Dimension(1400, 1000));
        }
    }

    /** Files downloaded so far. */
    public List<Path> downloaded() {
        try (var s = Files.list(downloads)) {
            return s.filter(p -> !p.toString().endsWith(".crdownload")).toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        driver.quit();
        GatewayProcess.deleteTree(downloads);
    }
}
