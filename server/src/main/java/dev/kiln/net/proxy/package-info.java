/**
 * How users reach a port inside a sandbox: {@link dev.kiln.net.proxy.PortProxy} (HTTP and
 * WebSocket, routed by host name or path, guarded by the sandbox's access token) and
 * {@link dev.kiln.net.proxy.TcpForwarder} (raw TCP from a host port). The package knows nothing
 * about sandboxes beyond {@link dev.kiln.net.proxy.ProxyTargets}, which tells it where a sandbox
 * port is and what token it wants; it uses only JDK sockets and virtual threads.
 *
 * <p>Design: a byte-level proxy, not an HTTP implementation. Per client connection the proxy reads
 * the request head only (at most 32 KiB, else 431; at most 30 s, else it just closes), parses it
 * strictly (else 400), routes it (Host {@code <port>-<id>.<domain>} first, then path
 * {@code /v1/sandboxes/<id>/ports/<port>/rest}, else 404), looks the port up (unknown: 404),
 * checks the token (header {@code X-Kiln-Access-Token}, else query parameter {@code kiln_token},
 * else cookie {@code kiln_token}; missing: 401, wrong: 403; compared in constant time), connects
 * (5 s, else 502) and writes a rewritten head: new path, no token anywhere, X-Forwarded-For/Host/
 * Proto set by the proxy. From then on {@link dev.kiln.net.proxy.Splice} copies bytes both ways
 * until both sides are done, half-closing as each side finishes. Errors the proxy answers itself
 * are JSON {@code {"error":{"code":…,"message":…}}} with {@code Connection: close}; messages never
 * quote the request, so they cannot echo a token.
 *
 * <p>Decision: one request per client connection. The forwarded head says {@code Connection:
 * close}, so the sandbox closes after its answer and the proxy never needs to find where a body
 * ends to route the next request; routing and the token check stay per connection and correct
 * without parsing bodies. The cost is a new TCP connection per request (cheap on a local bridge)
 * and no pipelining: bytes a client sends after its first request reach the same sandbox port,
 * which was told to close, so a client must not pipeline requests for different sandboxes on one
 * connection. The only exception is a WebSocket upgrade ({@code Connection: upgrade} and
 * {@code Upgrade: websocket}), whose Connection header passes untouched so the splice carries the
 * 101 and then the frames. Other upgrades (such as {@code h2c}, which java.net.http offers on every
 * plain-http request) are sent as ordinary requests: a refused upgrade would otherwise leave a
 * kept-alive connection that later requests, possibly for another sandbox, would ride.
 *
 * <p>Limits: at most 1024 open client connections per proxy (more get 503 at once), a spliced
 * connection closes after 10 minutes with no byte moving either way, and nothing one connection
 * throws reaches the accept loop ({@link dev.kiln.net.proxy.Listener}). A forwarded TCP connection
 * has no idle limit. Each proxied request is logged at INFO: sandbox, port, method, path without
 * query, and whether it was forwarded or refused with which status.
 */
package dev.kiln.net.proxy;
