package dev.kiln.sandbox;

import dev.kiln.image.oci.ImageConfig;
import java.util.Map;

/** What every exec in a sandbox starts from: its template version's image config and its environment (the image's Env under its own). */
record ExecDefaults(ImageConfig config, Map<String, String> env) {}
