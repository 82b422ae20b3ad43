package dev.kiln.store;

import java.time.Instant;
import java.util.Optional;

/**
 * One row of {@code nodes}: a host that runs VMs. {@code role} and {@code state} are the names of
 * the cluster package's enums; {@code capacityJson} is what the node last reported.
 *
 * @param credential what control instances present to the node (made anew at each start); never shown
 * @param proxyUrl   where its port proxy listens, when it has one
 * @param labelsJson the labels it is placed by, a JSON object of strings
 */
public record NodeRow(String id, String name, String apiUrl, String role, String state, boolean cordoned, String capacityJson,
    Instant registeredAt, Instant heartbeatAt, Optional<String> downReason, Optional<String> credential, Optional<String> proxyUrl, String labelsJson) {}
