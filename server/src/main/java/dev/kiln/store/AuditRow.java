package dev.kiln.store;

/**
 * One record of {@code audit_log}, as stored; hashing it is the audit package's job.
 *
 * @param sandboxId the sandbox it is about; "" for none
 * @param status    the HTTP status the request was answered with (0 for what no request asked)
 */
public record AuditRow(String chain, long seq, long atMillis, String actor, String action, String sandboxId, int status, String detailJson,
    String prevHash, String hash) {}
