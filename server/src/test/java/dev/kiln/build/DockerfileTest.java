package dev.kiln.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class DockerfileTest {
  @Test
  void instructionsParseWithTheirLinesFlagsAndForms() {
    Dockerfile d = Dockerfile.parse("""
        # syntax=docker/dockerfile:1
        ARG BASE=busybox
        FROM ${BASE} AS Build
        RUN apk add \\
              curl \\
        # a comment inside a continuation
              git
        COPY --chown=app:app --chmod=0755 ["a b.txt", "/dst/"]
        COPY --from=build /out /out
        ENV A=1 B="two words" C=$A
        ENV LEGACY some value
        CMD ["python3", "-m", "http.server"]
        ENTRYPOINT /bin/start
        EXPOSE 8080 9000/udp
        WORKDIR /srv
        """);
    List<Instruction> i = d.instructions();
    assertEquals(new Instruction.Arg(2, "BASE", Optional.of("busybox")), i.get(0));
    assertEquals(new Instruction.From(3, "${BASE}", Optional.of("build")), i.get(1));
    Instruction.Run run = (Instruction.Run) i.get(2);
    assertEquals(4, run.line());
    assertEquals("apk add        curl        git", ((Command.ShellForm) run.command()).text());
    assertEquals(new Instruction.Copy(8, false, List.of("a b.txt"), "/dst/", Optional.empty(), Optional.of("app:app"), Optional.of("0755")), i.get(3));
    assertEquals(Optional.of("build"), ((Instruction.Copy) i.get(4)).from());
    assertEquals(List.of("A=1", "B=\"two words\"", "C=$A"), ((Instruction.Env) i.get(5)).assignments());
    assertEquals(List.of("LEGACY='some value'"), ((Instruction.Env) i.get(6)).assignments());
    assertEquals(new Command.ExecForm(List.of("python3", "-m", "http.server")), ((Instruction.Cmd) i.get(7)).command());
    assertEquals(List.of("/bin/sh", "-c", "/bin/start"), ((Instruction.Entrypoint) i.get(8)).command().argv(StageState.DEFAULT_SHELL));
    assertEquals(List.of("8080", "9000/udp"), ((Instruction.Expose) i.get(9)).ports());
    assertEquals(1, d.stages().size());
    assertEquals(List.of(i.get(0)), d.globalArgs());
  }

  @Test
  void whatKilnDoesNotBuildIsRefusedNamingTheLine() {
    Map<String, String> bad = Map.of(
        "FROM a\nFETCH x\n", "line 2: unknown instruction 'FETCH'",
        "FROM a\nRUN --mount=type=cache,target=/c make\n", "line 2: RUN --mount is not supported",
        "FROM a\nCOPY --link x /y\n", "line 2: COPY --link is not supported (supported: --from, --chown, --chmod)",
        "FROM a\nADD https://example.com/x /x\n", "line 2: ADD of a URL",
        "FROM a\nRUN <<EOF\necho hi\nEOF\n", "line 2: RUN with a heredoc",
        "FROM a\nENV A=\"open\n", "line 2: a double quote is not closed",
        "RUN true\n", "line 1: the first instruction must be FROM",
        "FROM a\nRUN\n", "line 2: RUN needs arguments",
        "FROM a\nCOPY only-one\n", "line 2: COPY needs at least one source and a destination",
        "FROM a\nHEALTHCHECK CMD true\n", "line 2: HEALTHCHECK is not supported");
    bad.forEach((text, message) -> {
      DockerfileException e = assertThrows(DockerfileException.class, () -> Dockerfile.parse(text), text);
      assertTrue(e.getMessage().contains(message), e.getMessage() + " should contain " + message);
    });
    assertThrows(DockerfileException.class, () -> Dockerfile.parse("# only a comment\n"));
  }

  @Test
  void wordsExpandAsDockerExpandsThem() {
    Map<String, String> vars = Map.of("A", "1", "EMPTY", "");
    assertEquals(List.of("1", "x1y", "$A", "two words", "d", "", "w"),
        ShellWords.split("$A x${A}y '$A' \"two words\" ${UNSET:-d} ${UNSET:+w} ${A:+w}", vars::get, 1));
    assertEquals("fallback", ShellWords.expand("${EMPTY:-fallback}", vars::get, 1));
    assertEquals("", ShellWords.expand("${EMPTY-fallback}", vars::get, 1));
    assertThrows(DockerfileException.class, () -> ShellWords.split("${A%%x}", vars::get, 3));
  }

  @Test
  void keysDependOnEveryPartAndItsBoundaries() {
    assertEquals(StepCache.key("p", List.of("RUN", "a")), StepCache.key("p", List.of("RUN", "a")));
    assertTrue(!StepCache.key("p", List.of("ab", "c")).equals(StepCache.key("p", List.of("a", "bc"))));
    assertTrue(!StepCache.key("p", List.of("RUN a")).equals(StepCache.key("q", List.of("RUN a"))));
  }
}
