"""spark_lester.aws.s3.upload_tree: a bundle goes to S3 once per content (moto's S3)."""

from __future__ import annotations

import random
import shutil

from spark_lester.aws.s3 import file_sha256, upload_tree


class _Counting:
    """An S3 client that counts the files it uploads (everything else passes through)."""

    def __init__(self, s3):
        self.s3, self.uploaded = s3, []

    def upload_file(self, path, bucket, key, **kw):
        self.uploaded.append(key)
        return self.s3.upload_file(path, bucket, key, **kw)

    def __getattr__(self, name):
        return getattr(self.s3, name)


def test_unchanged_files_are_not_uploaded_again(aws, bundle, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    files = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file())
    s3 = _Counting(aws.s3)

    skipped: list[str] = []
    first = upload_tree(s3, copy, aws.code_uri, skipped=skipped)
    assert sorted(first) == files and skipped == []
    assert len(s3.uploaded) == len(files)

    # Change a few files (chosen at random), add one: exactly those are uploaded again.
    rng = random.Random(21)
    changed = set(rng.sample(files, 3))
    for rel in changed:
        with (copy / rel).open("ab") as fh:
            fh.write(b"\n# changed\n")
    (copy / "emr" / "new.txt").write_text("new")
    s3.uploaded.clear()
    skipped = []
    second = upload_tree(s3, copy, aws.code_uri, skipped=skipped)
    prefix = aws.code_uri.split("/", 3)[3] + "/"
    assert sorted(k.removeprefix(prefix) for k in s3.uploaded) == sorted(changed | {"emr/new.txt"})
    assert sorted(skipped) == sorted(set(files) - changed)
    assert set(second) == set(files) | {"emr/new.txt"}

    # What S3 holds is the new content, with its sha256 in the object's metadata.
    for rel in changed:
        head = aws.s3.head_object(Bucket=aws.code, Key=prefix + rel)
        assert head["Metadata"]["sha256"] == file_sha256(copy / rel)
        body = aws.s3.get_object(Bucket=aws.code, Key=prefix + rel)["Body"].read()
        assert body == (copy / rel).read_bytes()


def test_an_object_without_a_hash_is_uploaded(aws, bundle):
    """An object put by other tooling (no sha256 metadata) is replaced, not trusted."""
    prefix = aws.code_uri.split("/", 3)[3] + "/"
    aws.s3.put_object(Bucket=aws.code, Key=prefix + "manifest.json", Body=b"{}")
    skipped: list[str] = []
    upload_tree(aws.s3, bundle, aws.code_uri, skipped=skipped)
    assert "manifest.json" not in skipped
    body = aws.s3.get_object(Bucket=aws.code, Key=prefix + "manifest.json")["Body"].read()
    assert body == (bundle / "manifest.json").read_bytes()
