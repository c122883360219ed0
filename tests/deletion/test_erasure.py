"""Erasure: VACUUM keeps standard output clean."""

from __future__ import annotations

from spark_lester.deletion.erasure import vacuum


def test_vacuum_prints_nothing_on_standard_output(spark, tmp_path):
    """Delta's VACUUM reports "Deleted N files and directories" with Scala's println, in the
    JVM: pytest's capsys/capfd cannot see it (the JVM's stdout was fixed when it started), so
    the driver thread's Scala console is pointed at a buffer here instead."""
    path = str(tmp_path / "t")
    for n in (3, 2, 1):  # two overwrites leave unreferenced files for VACUUM to delete
        spark.range(n).coalesce(1).write.format("delta").mode("overwrite").save(path)
    assert len(list((tmp_path / "t").glob("*.parquet"))) > 1
    jvm = spark._jvm
    printed = jvm.java.io.ByteArrayOutputStream()
    previous = jvm.scala.Console.out()
    jvm.scala.Console.setOut(jvm.java.io.PrintStream(printed, True))
    try:
        vacuum(spark, path, request_id="quiet")
        after_ours = printed.toString()
        spark.sql(f"VACUUM delta.`{path}` RETAIN 0 HOURS").collect()
        after_plain = printed.toString()
    finally:
        jvm.scala.Console.setOut(previous)
    assert len(list((tmp_path / "t").glob("*.parquet"))) == 1  # VACUUM did delete files
    assert after_ours == ""
    # the buffer does see VACUUM's report, so vacuum() also gave the console back
    assert "Deleted 0 files and directories" in after_plain
