package dev.kiln.api;

import dev.kiln.cluster.NodeRoute;
import java.io.IOException;
import java.util.Optional;

/**
 * A control instance's way to a node, for an API served beside Kiln's (E2B's): a client's request
 * sent on as it came, with the node's credential and the caller in place of the client's key.
 */
public interface NodeHop {
  /** Sends the exchange's request to the node and streams the answer back; {@code body} replaces a body already read. */
  void forward(Exchange x, NodeRoute node, Optional<byte[]> body) throws IOException, InterruptedException;
}
