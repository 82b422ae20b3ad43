package dev.kiln.doctor;

/** One check of a host: what was found and, unless it is fine, what to do about it. */
public record Finding(Status status, String check, String found, String fix) {
  public enum Status {
    OK, WARN, FAIL;

    /** How the report shows it: fixed width, so the checks line up. */
    public String label() {
      return switch (this) {
        case OK -> "ok  ";
        case WARN -> "WARN";
        case FAIL -> "FAIL";
      };
    }
  }

  static Finding ok(String check, String found) {
    return new Finding(Status.OK, check, found, "");
  }

  static Finding warn(String check, String found, String fix) {
    return new Finding(Status.WARN, check, found, fix);
  }

  static Finding fail(String check, String found, String fix) {
    return new Finding(Status.FAIL, check, found, fix);
  }
}
