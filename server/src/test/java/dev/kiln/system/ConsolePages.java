package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.NoAlertPresentException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * What ConsoleSystemTest reads and does in the console's pages, by the ids and data attributes
 * the pages give their elements: signing in, the list's rows, the terminal's screen, a build's
 * log, load times, screenshots, and the check that no script of a guest's ran.
 */
final class ConsolePages {
  private final ChromeDriver driver;
  private final WebDriverWait wait;
  private final String base;
  private final String key;
  private final Path shots;

  ConsolePages(ChromeDriver driver, WebDriverWait wait, String base, String key, Path shots) {
    this.driver = driver;
    this.wait = wait;
    this.base = base;
    this.key = key;
    this.shots = shots;
  }

  /** Loads the page afresh and reads the time from navigation to its "page ready" mark. */
  double loadMs(String hash) {
    driver.get("about:blank");
    driver.get(base + "/console/" + hash);
    Object ms = wait.until(d -> ((JavascriptExecutor) d).executeScript(
        "const m = performance.getEntriesByName('kiln:page-ready'); return m.length ? m[m.length - 1].startTime : null"));
    return ((Number) ms).doubleValue();
  }

  /** Signs in unless this tab already is, and forgets what the page's console said so far. */
  void signIn() {
    driver.manage().logs().get(LogType.BROWSER);
    if (key.equals(session("kiln.key"))) return;
    driver.get(base + "/console/");
    WebElement field = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("api-key")));
    field.clear();
    field.sendKeys(key);
    driver.findElement(By.cssSelector("#sign-in button[type=submit]")).click();
    wait.until(ExpectedConditions.presenceOfElementLocated(By.id("sign-out")));
  }

  /** An item of the tab's session storage, or null (also when the tab is not on the console). */
  String session(String item) {
    if (!driver.getCurrentUrl().startsWith(base)) return null;
    return (String) ((JavascriptExecutor) driver).executeScript("return sessionStorage.getItem(arguments[0])", item);
  }

  /**
   * The ids the live list shows, read in one script: the list redraws its rows as the feed speaks,
   * so an element found in one WebDriver call may be gone by the next (stale).
   */
  @SuppressWarnings("unchecked")
  List<String> ids() {
    return (List<String>) ((JavascriptExecutor) driver).executeScript(
        "return Array.from(document.querySelectorAll('#sandbox-rows tr')).map(r => r.getAttribute('data-id'))");
  }

  /** Clicks an action button of a row of the live list; a redraw between finding and clicking it is tried again. */
  void clickRowAction(String id, String action) {
    wait.until(d -> {
      try {
        driver.findElement(By.cssSelector("#sandbox-rows tr[data-id='" + id + "'] button[data-action=" + action + "]")).click();
        return true;
      } catch (org.openqa.selenium.StaleElementReferenceException redrawn) {
        return false;
      }
    });
  }

  /** A row's status as shown, "" without the row; one script for the same reason as {@link #ids}. */
  String status(String id) {
    return (String) ((JavascriptExecutor) driver).executeScript(
        "const c = document.querySelector(\"#sandbox-rows tr[data-id='\" + arguments[0] + \"'] td[data-field=status]\"); return c ? c.innerText.trim() : ''", id);
  }

  /** The terminal's screen as xterm.js drew it, one line per row. */
  String screen() {
    return driver.findElement(By.cssSelector("#terminal .xterm-rows")).getText();
  }

  String log() {
    return driver.findElement(By.id("build-log")).getText();
  }

  private int asked;

  /** Rows and columns as the guest's terminal has them now (stty's answer, tagged to tell it from earlier ones). */
  int[] sttySize(WebElement input) {
    String tag = "q" + (++asked);
    input.sendKeys("echo size=$(stty size) " + tag + "\n");
    Pattern answer = Pattern.compile("size=(\\d+) (\\d+) " + tag + "\\b");
    Matcher[] m = new Matcher[1];
    wait.until(d -> (m[0] = answer.matcher(screen())).find());
    return new int[] {Integer.parseInt(m[0].group(1)), Integer.parseInt(m[0].group(2))};
  }

  /** Asks again until the guest's size differs from {@code before}: the resize travels window → xterm → WebSocket → pty. */
  int[] waitForSttyChange(WebElement input, int[] before) {
    int[][] now = new int[1][];
    wait.until(d -> {
      now[0] = sttySize(input);
      return now[0][0] != before[0] || now[0][1] != before[1];
    });
    return now[0];
  }

  /** No dialog opened, no image element made, and the page's console holds no error (a CSP refusal is one). */
  void assertNoScriptRan() {
    try {
      String text = driver.switchTo().alert().getText();
      throw new AssertionError("a dialog opened: " + text);
    } catch (NoAlertPresentException expected) {
      // what a page that renders guest text as text does
    }
    assertEquals(0, driver.findElements(By.tagName("img")).size(), "no element was made from a guest's HTML");
    List<String> errors = driver.manage().logs().get(LogType.BROWSER).getAll().stream()
        .filter(e -> e.getLevel().intValue() >= java.util.logging.Level.SEVERE.intValue()).map(LogEntry::getMessage).toList();
    assertTrue(errors.isEmpty(), "the page's console has errors: " + errors);
  }

  void screenshot(String name) {
    try {
      Files.write(shots.resolve(name + ".png"), driver.getScreenshotAs(OutputType.BYTES));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
