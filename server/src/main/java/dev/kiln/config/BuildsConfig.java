package dev.kiln.config;

/**
 * Templates built from a Dockerfile (docs/adr/0025): each RUN runs in a build VM of this size; the
 * context a request sends is bounded; each step's result is cached, by age and by size. Each key's
 * description and range: its {@link ConfigDoc}, published as docs/config.md.
 */
public record BuildsConfig(
    @ConfigDoc(value = "vCPUs of each build VM", range = "1..64")
    int vcpus,
    @ConfigDoc(value = "guest RAM of each build VM in MiB", range = "128..65536")
    int memoryMib,
    @ConfigDoc(value = "root disk of each build VM in MiB, unless the request names one: what RUN steps may fill (the built template's image has this size, sparse)", range = "64..1048576")
    long diskMib,
    @ConfigDoc(value = "largest build context a request may send, in MiB (its files, unpacked)", range = "1..65536")
    long maxContextMib,
    @ConfigDoc(value = "longest one RUN step may take, in minutes; it is killed after", range = "1..1440")
    int stepTimeoutMinutes,
    @ConfigDoc(value = "the step cache's size in MiB: beyond it, least recently used steps are dropped after each build", range = "1..16777216")
    long cacheMaxMib,
    @ConfigDoc(value = "steps not used for this many hours are dropped from the cache", range = "1..87600")
    int cacheMaxAgeHours) {
  public static final BuildsConfig DEFAULT = new BuildsConfig(0, 0, 0, 0, 0, 0, 0);

  public BuildsConfig {
    if (vcpus == 0) vcpus = 1;
    if (memoryMib == 0) memoryMib = 1024;
    if (diskMib == 0) diskMib = 4096;
    if (maxContextMib == 0) maxContextMib = 512;
    if (stepTimeoutMinutes == 0) stepTimeoutMinutes = 60;
    if (cacheMaxMib == 0) cacheMaxMib = 20_480;
    if (cacheMaxAgeHours == 0) cacheMaxAgeHours = 168;
    check("builds.vcpus", vcpus, 1, 64);
    check("builds.memoryMib", memoryMib, 128, 65_536);
    check("builds.diskMib", diskMib, 64, 1 << 20);
    check("builds.maxContextMib", maxContextMib, 1, 65_536);
    check("builds.stepTimeoutMinutes", stepTimeoutMinutes, 1, 1440);
    check("builds.cacheMaxMib", cacheMaxMib, 1, 1L << 24);
    check("builds.cacheMaxAgeHours", cacheMaxAgeHours, 1, 87_600);
  }

  private static void check(String key, long v, long min, long max) {
    if (v < min || v > max) throw new IllegalArgumentException(key + " must be " + min + ".." + max + ", got " + v);
  }
}
