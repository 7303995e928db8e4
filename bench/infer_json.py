"""Shared by the bench/ scripts: one `polympc infer` run and its JSON report."""
import json
import subprocess


def infer_json(polympc, model, images, path, extra=()):
    """Runs `polympc infer` on the cpu backend with the given extra arguments, quietly, and
    returns its --json report (raises CalledProcessError when the run fails)."""
    cmd = [polympc, "infer", "--model", model, "--images", str(images), "--backend", "cpu",
           "--quiet", "--json", path] + list(extra)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(path) as f:
        return json.load(f)
