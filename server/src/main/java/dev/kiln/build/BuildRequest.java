package dev.kiln.build;

import dev.kiln.image.BuildOptions;
import java.util.Map;

/** What a build was asked for beside its Dockerfile: build arguments, options, and the key it builds for ("" the operator). */
record BuildRequest(Map<String, String> buildArgs, BuildOptions options, String owner) {}
