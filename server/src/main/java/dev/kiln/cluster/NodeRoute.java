package dev.kiln.cluster;

import java.net.URI;
import java.util.Optional;

/**
 * How a control instance reaches one node: its internal API, its port proxy and the credential
 * both take. Read from the node's row; the node's view ({@link Node}) never carries the credential.
 */
public record NodeRoute(String nodeId, String nodeName, URI api, Optional<URI> proxy, NodeCredential credential, boolean up) {}
