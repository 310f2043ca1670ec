import assert from "node:assert/strict";
import { test } from "node:test";
import { parseYamlSubset, YamlSubsetError } from "./yaml_subset.ts";

const SAMPLE = `# A workflow-shaped document.
name: Release # trailing comment
on:
  push:
    tags: ["v*", 'x''y', plain]
jobs:
  build:
    runs-on: ubuntu-24.04
    timeout-minutes: 30
    needs: [a, b]
    steps:
      - uses: actions/checkout@abc # v1
      - name: "Quoted: with colon # not a comment"
        run: |
          echo "a: b" # kept, it is script text

          echo done
      - run: |-
          no trailing newline
    list:
    - one
    - 2
    - true
    - null
    - - nested
      - seq
    empty:
    url: http://example.com/a#b
`;

test("parses the block subset a workflow uses", () => {
  assert.deepEqual(parseYamlSubset(SAMPLE), {
    name: "Release",
    on: { push: { tags: ["v*", "x'y", "plain"] } },
    jobs: {
      build: {
        "runs-on": "ubuntu-24.04",
        "timeout-minutes": 30,
        needs: ["a", "b"],
        steps: [
          { uses: "actions/checkout@abc" },
          {
            name: "Quoted: with colon # not a comment",
            run: 'echo "a: b" # kept, it is script text\n\necho done\n',
          },
          { run: "no trailing newline" },
        ],
        list: ["one", 2, true, null, ["nested", "seq"]],
        empty: null,
        url: "http://example.com/a#b",
      },
    },
  });
});

test("agrees with Bun's YAML parser where there is one", () => {
  // Only Bun ships a YAML parser; under Deno this comparison has nothing to compare with.
  const bun = (globalThis as { Bun?: { YAML?: { parse(text: string): unknown } } }).Bun;
  if (!bun?.YAML) return;
  assert.deepEqual(parseYamlSubset(SAMPLE), bun.YAML.parse(SAMPLE));
});

test("refuses what is outside the subset instead of misreading it", () => {
  for (
    const text of [
      "a: &anchor 1",
      "a: *alias",
      "a: !tag x",
      "a: {b: 1}",
      "a: >\n  folded",
      "a: plain\n  continued",
      "a:\n\t- tab",
      "a: 1\na: 2",
      "a: [1, [2]]",
      "a: 1\n  b: 2",
    ]
  ) {
    assert.throws(() => parseYamlSubset(text), YamlSubsetError, text);
  }
});
