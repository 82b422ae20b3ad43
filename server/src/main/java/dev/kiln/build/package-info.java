/**
 * Templates built from a Dockerfile (docs/adr/0025): the Dockerfile parsed with line numbers
 * ({@link dev.kiln.build.Dockerfile}), the build context received as a tar and filtered by
 * .dockerignore, and each step run in a build VM as hostile as any sandbox, its disk layer kept in
 * a cache keyed by everything the step depends on.
 */
package dev.kiln.build;
