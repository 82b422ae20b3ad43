package dev.kiln.api;

import dev.kiln.access.ApiKeys;
import dev.kiln.audit.AuditLog;
import dev.kiln.cluster.NodeRegistry;
import dev.kiln.store.LeaseRepository;
import dev.kiln.image.TemplateService;
import dev.kiln.sandbox.SandboxManager;
import dev.kiln.sandbox.ProcessService;
import dev.kiln.sandbox.SandboxOperations;
import dev.kiln.sandbox.UserResolver;
import dev.kiln.vmm.VmmCapabilities;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.websocket.server.ServerWebSocketContainer;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/** The HTTP server: Jetty with handlers on virtual threads, since every route blocks on a guest. */
public final class ApiServer implements AutoCloseable {
  /** Larger request headers are refused with 431: 16 KiB fits any sane token or cookie. */
  private static final int MAX_HEADER_BYTES = 16 * 1024;
  private final Server server;
  private final ServerConnector connector;

  /** A daemon that runs sandboxes: combined (its callers are users) or a node (its caller is the control plane). */
  public ApiServer(InetSocketAddress listen, SandboxManager sandboxes, SandboxOperations ops, ProcessService processes, TemplateService templates,
      VmmCapabilities capabilities, NodeRegistry nodes, LeaseRepository leases, Callers callers, RouteAccess access, ApiKeys keys, AuditLog auditLog,
      ApiAudit audit, Optional<Front> inFront) {
    this(listen, withInternal(routeTable(sandboxes, ops, processes, templates, capabilities, nodes, leases, keys, auditLog), sandboxes, callers), callers,
        access, audit, inFront);
  }

  /** A node also serves the control plane's own calls (docs/adr/0017), which are in no public API. */
  private static List<Route> withInternal(List<Route> routes, SandboxManager sandboxes, Callers callers) {
    if (!(callers instanceof Callers.ControlPlane)) return routes;
    List<Route> all = new ArrayList<>(routes);
    all.addAll(NodeInternalRoutes.routes(sandboxes));
    all.addAll(MigrationRoutes.routes(sandboxes));
    return all;
  }

  /** A control instance: the same routes, carried to the nodes (docs/adr/0017). */
  public static ApiServer forControl(InetSocketAddress listen, dev.kiln.cluster.NodeDirectory directory, NodeRegistry nodes, LeaseRepository leases,
      ApiKeys keys, RouteAccess access, AuditLog auditLog, ApiAudit audit, java.util.function.Function<NodeHop, Front> inFront) {
    HttpHop hop = new HttpHop();
    ApiServer server = new ApiServer(listen, ControlRoutes.routes(directory, nodes, leases, keys, auditLog, hop), Callers.users(keys), access, audit,
        Optional.of(inFront.apply(hop)));
    server.closeWith = hop;
    return server;
  }

  /** What goes when the server does (a control instance's client to its nodes). */
  private AutoCloseable closeWith = () -> { };

  /** {@code inFront}: a handler asked first, which leaves what it does not serve to the API (E2B's API, docs/e2b.md). */
  private ApiServer(InetSocketAddress listen, List<Route> routes, Callers callers, RouteAccess access, ApiAudit audit, Optional<Front> inFront) {
    QueuedThreadPool pool = new QueuedThreadPool();
    pool.setName("http");
    pool.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server = new Server(pool);
    HttpConfiguration http = new HttpConfiguration();
    http.setRequestHeaderSize(MAX_HEADER_BYTES);
    http.setSendServerVersion(false);
    connector = new ServerConnector(server, new HttpConnectionFactory(http));
    connector.setHost(listen.getHostString());
    connector.setPort(listen.getPort());
    server.addConnector(connector);
    List<Handler> handlers = new ArrayList<>();
    inFront.ifPresent(f -> handlers.add(new FrontHandler(f)));
    // The web console is for users; a node answers only the control plane, which serves it instead.
    if (callers instanceof Callers.Users) dev.kiln.console.ConsoleAssets.fromJar().ifPresent(a -> handlers.add(new ConsoleHandler(a)));
    handlers.add(new ApiHandler(routes, callers, access, audit, ServerWebSocketContainer.ensure(server)));
    server.setHandler(handlers.size() == 1 ? handlers.getFirst() : new Handler.Sequence(handlers));
    server.setErrorHandler(new ErrorPages());
  }

  /** Every route the API serves; openapi.yaml must list exactly these (OpenApiContractTest). */
  static List<Route> routeTable(SandboxManager sandboxes, SandboxOperations ops, ProcessService processes, TemplateService templates,
      VmmCapabilities capabilities, NodeRegistry nodes, LeaseRepository leases, ApiKeys keys, AuditLog auditLog) {
    List<Route> routes = new ArrayList<>();
    routes.add(new Route("GET", "/healthz", x -> x.json(200, Map.of("status", "ok"))));
    routes.addAll(new SandboxRoutes(sandboxes, ops, templates).routes());
    routes.addAll(new CheckpointRoutes(sandboxes).routes());
    routes.addAll(new NetworkRoutes(sandboxes).routes());
    routes.addAll(new PoolRoutes(sandboxes).routes());
    routes.add(new MetricsRoute(sandboxes).route());
    routes.addAll(new ProcessRoutes(processes, new CommandRequests(sandboxes, new UserResolver(ops))).routes());
    routes.addAll(new FileRoutes(ops).routes());
    routes.addAll(new TemplateRoutes(templates, sandboxes).routes());
    routes.add(CapabilitiesRoute.route(capabilities));
    routes.addAll(new ClusterRoutes(nodes, leases).routes());
    routes.addAll(new KeyRoutes(keys).routes());
    routes.addAll(new AuditRoutes(auditLog).routes());
    return routes;
  }

  public void start() throws Exception {
    server.start();
  }

  /** The bound port (useful when configured with port 0). */
  public int port() {
    return connector.getLocalPort();
  }

  @Override
  public void close() throws Exception {
    try {
      server.stop();
    } finally {
      closeWith.close();
    }
  }
}
