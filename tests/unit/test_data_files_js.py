"""web/runtime/data-files.js's keeping of data files in Cache Storage, run by Node against a cache
that behaves as the browser's does (keys() -> Requests, delete(request), put(url, response))."""

import json
import subprocess

import pytest
from conftest import REPO

pytestmark = pytest.mark.reference  # runs Node: CPython only

KEEP = """
import { keepFile } from "./web/runtime/data-files.js";
const stored = new Map();
const cache = {
  keys: async () => [...stored.keys()].map((url) => ({ url })),
  delete: async (request) => stored.delete(request.url),
  put: async (url, response) => stored.set(url, await response.text()),
};
for (const url of JSON.parse(process.argv[1])) {
  await keepFile(cache, url, new TextEncoder().encode(url));
}
console.log(JSON.stringify([...stored.keys()]));
"""


def kept(urls: list[str]) -> list[str]:
    """The urls left in the cache after keeping `urls` in this order."""
    result = subprocess.run(["node", "--input-type=module", "-e", KEEP, json.dumps(urls)],
                            cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_a_file_whose_name_begins_like_another_is_not_its_older_edition():
    # Chapter 4's two GloVe files: glove-50d.npy's stem "glove-50d-" begins glove-50d-words-…
    words = "http://x/data/glove-50d-words-1a2b3c4d5e6f.txt"
    vectors = "http://x/data/glove-50d-0f9e8d7c6b5a.npy"
    assert sorted(kept([words, vectors])) == sorted([words, vectors])
    assert sorted(kept([vectors, words])) == sorted([words, vectors])


def test_a_new_edition_replaces_the_old_one_and_only_it():
    old, new = "http://x/data/names-111111111111.txt", "http://x/data/names-222222222222.txt"
    other = "http://x/data/shakespeare-333333333333.txt"
    assert sorted(kept([old, other, new])) == sorted([other, new])
