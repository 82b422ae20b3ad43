package dev.kiln.sandbox;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.image.Template;
import dev.kiln.image.TemplateService;
import dev.kiln.image.oci.ImageConfig;
import dev.kiln.store.EventRepository;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxListRow;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.VmRecords;
import dev.kiln.vmm.VmSpec;
import dev.kiln.vmm.VmmException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/** What the API shows of sandboxes, and what exec reads of them (environment, image defaults). Reads only. */
final class SandboxViews {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final SandboxRepository repo;
  private final SandboxRows rows;
  private final EventRepository events;
  private final SandboxNetworks networks;
  private final TemplateService templates;
  private final SandboxRegistry live;
  private final RunDirs dirs;

  SandboxViews(SandboxRepository repo, SandboxRows rows, EventRepository events, SandboxNetworks networks, TemplateService templates, RunDirs dirs,
      SandboxRegistry live) {
    this.live = live;
    this.repo = repo;
    this.rows = rows;
    this.events = events;
    this.networks = networks;
    this.templates = templates;
    this.dirs = dirs;
  }

  Sandbox get(String id) {
    if (!SandboxId.isValid(id)) throw SandboxId.notFound(id);
    return repo.findListed(id).map(this::view).orElseThrow(() -> rows.gone(id));
  }

  /** Every sandbox, in one query. */
  List<Sandbox> list() {
    return repo.list().stream().map(this::view).toList();
  }

  /** Every sandbox's events after {@code seq} (at most {@code limit}), for a live feed. */
  List<EventRepository.Event> eventsAfter(long seq, int limit) {
    return events.after(seq, limit);
  }

  long lastEventSeq() {
    return events.lastSeq();
  }

  /** A sandbox's events, also while it is a tombstone (the last one says how it ended). */
  List<EventRepository.Event> events(String id) {
    if (!rows.known(id)) throw SandboxId.notFound(id);
    return events.of(id);
  }

  /** The end of the sandbox's guest console (kernel and agent messages), while it has a run directory. */
  byte[] console(String id, int maxBytes) {
    rows.row(id);
    return dev.kiln.vmm.ConsoleLog.tail(dirs.of(id).resolve("console.log"), maxBytes);
  }

  /**
   * The environment every exec in the sandbox starts from: the image's Env, then the sandbox's own
   * env from create (which wins on a clash).
   */
  Map<String, String> env(String id) {
    return execDefaults(id).env();
  }

  /** The config of the image the sandbox's template came from: exec defaults (user, working directory). */
  ImageConfig imageConfig(String id) {
    return execDefaults(id).config();
  }

  /**
   * Read from the store once while the sandbox is live here, then kept with it: its template
   * version and its env are fixed at create, and every exec needs both (two row reads and a parse
   * of the image config each, before).
   */
  private ExecDefaults execDefaults(String id) {
    Optional<LiveSandbox> sb = SandboxId.isValid(id) ? live.find(new SandboxId(id)) : Optional.empty();
    ExecDefaults known = sb.map(s -> s.execDefaults).orElse(null);
    if (known != null) return known;
    SandboxRow r = rows.row(id);
    ImageConfig config = imageConfig(r);
    Map<String, String> env = config.envMap();
    try {
      env.putAll(JSON.readValue(r.envJson(), new TypeReference<Map<String, String>>() {}));
    } catch (JsonProcessingException e) {
      throw new KilnException(ErrorCode.INTERNAL, "sandbox " + id + " has unreadable env in the store", e);
    }
    ExecDefaults read = new ExecDefaults(config, Map.copyOf(env));
    sb.ifPresent(s -> s.execDefaults = read);
    return read;
  }

  private ImageConfig imageConfig(SandboxRow r) {
    return templates.find(r.templateRef()).or(() -> templates.find(r.template())).map(Template::config).orElse(ImageConfig.NONE);
  }

  private Sandbox view(SandboxListRow l) {
    SandboxRow r = l.sandbox();
    Map<String, String> metadata;
    try {
      metadata = JSON.readValue(r.metadataJson(), new TypeReference<Map<String, String>>() {});
    } catch (JsonProcessingException e) {
      metadata = Map.of();
    }
    Optional<VmSpec> vm = r.vmJson().flatMap(j -> {
      try {
        return Optional.of(VmRecords.decode(j));
      } catch (VmmException e) {
        return Optional.empty();
      }
    });
    // How the VM came to be: restored from the template snapshot (its RAM is a clone of the snapshot's) or booted.
    Optional<String> startedFrom = r.vmJson().map(j -> vm.map(s -> s.memory().isPresent() ? "snapshot" : "boot").orElse("unknown"));
    OptionalLong diskMib = l.rootDiskBytes().isPresent() ? OptionalLong.of(l.rootDiskBytes().getAsLong() >> 20) : OptionalLong.empty();
    return new Sandbox(r.id(), r.templateRef(), SandboxRows.stateOf(r), r.vcpus(), r.memoryMib(), r.timeoutSeconds(), metadata,
        r.createdAt(), r.expiresAt(), r.error(), startedFrom, r.onTimeout().toLowerCase(), networks.view(r.id(), l.network()), diskMib,
        vm.map(s -> s.machine().wire()), r.nodeId(), l.nodeDown(), r.owner());
  }
}
