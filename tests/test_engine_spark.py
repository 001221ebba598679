"""Spark local[2] through Ibis computes the same snapshot as pandas (the cluster engine, proven small).

Needs pyspark (the ``spark`` extra) and a Java runtime (JDK 17 on the CI image, or Debian's
openjdk-17-jre-headless, which .ci/run installs when ``java`` is missing).
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import segkit
from segkit.features import CUSTOMER_COLUMNS, snapshot

pyspark = pytest.importorskip("pyspark")
pytest.importorskip("ibis")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime (apt-get install openjdk-17-jre-headless)"),
]


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]").appName("segkit-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spark-data")
    segkit.generate_sample(folder, seed=11, n_customers=120)
    return segkit.load_dataset(folder)


def test_spark_snapshot_equals_pandas(spark, small):
    import ibis

    from segkit.engine import snapshot_from_ibis

    surveys = small.surveys[["customer_id", "date", "satisfaction", "nps"]].astype({"nps": "float64"})
    tables = {
        "orders": small.transactions[["customer_id", "order_date", "amount", "product_line"]],
        "interactions": small.interactions[["customer_id", "date", "type"]],
        "surveys": surveys.assign(_position=np.arange(len(surveys))),
        "customers": small.customers[["customer_id", "name", "industry", "owner", "first_cooperation_date"]],
    }
    for name, frame in tables.items():  # as a Spark job would see them: views in the session
        spark.createDataFrame(pa.Table.from_pandas(frame, preserve_index=False)).createOrReplaceTempView(f"crm_{name}")
    con = ibis.pyspark.connect(spark)
    as_of = small.as_of - pd.offsets.QuarterEnd(1)
    got = snapshot_from_ibis(con, as_of, customers="crm_customers", transactions="crm_orders",
                             interactions="crm_interactions", surveys="crm_surveys")
    expected = snapshot(small, as_of)
    # customer attributes: only the ones the Spark customers table carries
    columns = [c for c in expected.columns if c not in CUSTOMER_COLUMNS or c in tables["customers"].columns]
    pd.testing.assert_frame_equal(got[columns], expected[columns], check_exact=False, rtol=1e-9)
    assert got["orders_total"].sum() == expected["orders_total"].sum() > 0


def test_spark_tables_load_like_the_files(spark, small):
    """from_ibis on Spark: the tables stream to segkit's engine and pass the same rules."""
    import ibis

    from segkit.ingest import from_ibis

    folder = small.files["file"].map(lambda f: str(pd.io.common.Path(f).parent)).iloc[0]
    frames = {"customers": "customers.csv", "transactions": "orders.csv", "interactions": "interactions.csv",
              "surveys": "surveys.csv", "contracts": "contracts.csv"}
    for table, name in frames.items():
        frame = pd.read_csv(f"{folder}/{name}", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        spark.createDataFrame(pa.Table.from_pandas(frame, preserve_index=False)).coalesce(1).createOrReplaceTempView(f"raw_{table}")
    con = ibis.pyspark.connect(spark)
    got = from_ibis(con, **{table: f"raw_{table}" for table in frames}, as_of=small.as_of)
    for table in ("customers", "transactions", "interactions", "surveys", "contracts"):
        pd.testing.assert_frame_equal(getattr(got, table), getattr(small, table), check_exact=False, rtol=1e-12)
    cols = ["table", "column", "value", "reason"]
    where = r"\((first on )?[^()]* row \d+\)"  # a table is not a file: the place a reason points to differs
    pd.testing.assert_frame_equal(got.rejected[cols].reset_index(drop=True).replace({"reason": where}, {"reason": "(...)"}, regex=True),
                                  small.rejected[cols].reset_index(drop=True).replace({"reason": where}, {"reason": "(...)"}, regex=True))
    assert got.files["rows_rejected"].tolist() == small.files["rows_rejected"].tolist()
