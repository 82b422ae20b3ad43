/**
 * Strict JSON binding for everything a user writes (API request bodies, the daemon's config
 * file): one set of strict settings, and every failure described in the user's terms (the field
 * path, what was expected, what came) instead of the binder's class and exception names.
 */
package dev.kiln.json;
