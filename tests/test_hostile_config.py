"""Hostile and careless settings (issue 12, part C): as-of dates, override dates, YAML files,
command-line arguments and output paths. Each case ends in a clear error (exit code 2, naming
the file, key or argument and the value) with nothing written, or in the right reading."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from conftest import REPO, SAMPLE, write_csv
from segkit.cli import main
from segkit.config import MAX_YAML_BYTES, ConfigError, parse_yaml, read_user_config
from segkit.io import load_dataset
from segkit.periods import parse_date, parse_quarter
from segkit.reporting.render import _slug, render_departments, report_path
from segkit.segment.overrides import OverrideError, read_overrides

ORDERS = ["客户编号", "交易日期", "交易金额"]


@pytest.fixture
def folder(tmp_path):
    """Three customers, five orders in 2025-2026 (one dated after 2026-09-30: 20%, not more, so it
    loads), as an export writes them."""
    data = tmp_path / "data"
    data.mkdir()
    write_csv(data / "customers.csv", ["客户编号", "客户名称", "所属行业", "所属部门"],
              [["C1", "甲", "制造业", "华东/销售部"], ["C2", "乙", "新材料", "华东 销售部"], ["C3", "丙", "农业", "华东销售部"]])
    write_csv(data / "orders.csv", ORDERS, [["C1", "2025-11-02", "600000"], ["C2", "2026-03-15", "80000"],
                                            ["C3", "2026-09-30", "1200"], ["C1", "2026-10-05", "5"],
                                            ["C2", "2024-05-20", "300"]])
    return data


def _manifest(folder: Path, text: str) -> Path:
    path = folder / "dataset.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- 1. as-of dates ---------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_an_eight_digit_yaml_as_of_is_read_as_yyyymmdd(folder, engine):
    _manifest(folder, "name: t\nas_of: 20260930\n")
    ds = load_dataset(folder, engine=engine)
    assert ds.as_of == pd.Timestamp("2026-09-30") and ds.as_of_source == "dataset.yaml"
    # the four orders up to 2026-09-30 are kept; only the one dated after it is rejected
    assert len(ds.transactions) == 4
    assert ds.rejected["value"].tolist() == ["2026-10-05"]


@pytest.mark.parametrize("text, expected", [
    ("as_of:\n", "dataset.yaml: as_of is empty"),
    ("as_of: ''\n", "dataset.yaml: as_of is empty"),
    ("as_of: 2026-09-30T00:00:00+08:00\n", "has a time zone"),
    ("as_of: 30/09/2026\n", "day and month could be either way round"),
    ("as_of: now\n", "'now' is not a date segkit reads unambiguously"),
    ("as_of: 2026\n", "as_of 2026 is a number, not a date"),
])
def test_a_bad_dataset_yaml_as_of_stops_with_the_file_and_value(folder, capsys, text, expected):
    _manifest(folder, text)
    with pytest.raises(ConfigError, match="dataset.yaml"):
        load_dataset(folder)
    assert main(["validate", str(folder), "--rejected", str(folder.parent / "r.csv")]) == 2
    err = capsys.readouterr().err
    assert expected in err and str(folder / "dataset.yaml") in err
    assert not (folder.parent / "r.csv").exists()


@pytest.mark.parametrize("value, expected", [
    ("", "as-of date is empty"),
    ("2026-09-30T00:00+08:00", "has a time zone"),
    ("Sept 2026", "'Sept 2026' is not a date"),
])
def test_a_bad_as_of_argument_exits_2(folder, tmp_path, capsys, value, expected):
    assert main(["validate", str(folder), "--as-of", value, "--rejected", str(tmp_path / "r.csv")]) == 2
    assert expected in capsys.readouterr().err
    out = tmp_path / "t.csv"
    assert main(["tiers", "--data", str(folder), "--as-of", value, "--out", str(out)]) == 2
    assert "--as-of" in capsys.readouterr().err and not out.exists()


def test_typed_dates_are_read_only_when_unambiguous():
    for value in ("2026-09-01", "2026/09/01", "2026/9/1", "2026.09.01", "20260901", 20260901, "2026年9月1日",
                  "2026-09-01 00:00:00", dt.date(2026, 9, 1), dt.datetime(2026, 9, 1)):
        assert parse_date(value) == pd.Timestamp("2026-09-01"), value
    for value in ("01/09/2026", "1.9.2026", "now", "today", "Sept 2026", "2026-02-30", "9999-12-31", "", None, True,
                  2026, 1.5, "2026-09-01Z", pd.Timestamp("2026-09-01", tz="Asia/Shanghai"), pd.NaT):
        with pytest.raises(ValueError):
            parse_date(value)
    with pytest.raises(ValueError) as info:
        parse_date("x" * 100_000, "as-of")
    assert len(str(info.value)) < 400  # the value is cut, not printed whole


@pytest.mark.parametrize("as_of, expected", [
    ("2027-03-31", "--as-of 2027-03-31 is after the data's as-of date: as of 2026-09-30 (from dataset.yaml)"),
    ("1990-01-01", "--as-of 1990-01-01: no customer has an order on or before it"),
])
def test_snapshot_and_tiers_refuse_an_as_of_outside_the_data(folder, tmp_path, capsys, as_of, expected):
    _manifest(folder, "as_of: 2026-09-30\n")
    for command in ("snapshot", "tiers"):
        out = tmp_path / f"{command}.csv"
        assert main([command, "--data", str(folder), "--as-of", as_of, "--out", str(out)]) == 2
        assert expected in capsys.readouterr().err and not out.exists()
    # inside the data both work: C1's 600,000 makes it the one core customer
    out = tmp_path / "tiers.csv"
    assert main(["tiers", "--data", str(folder), "--as-of", "2026-06-30", "--out", str(out)]) == 0
    table = pd.read_csv(out, dtype=str)
    assert table.set_index("客户编号").loc["C1", "近12个月交易金额(万元)"] == "60.0"


# --- 2. override dates --------------------------------------------------------------------------


def test_override_dates_must_be_unambiguous(tmp_path):
    header = ["客户编号", "层级", "原因", "复核人", "日期"]
    rows = [["C1", "core", "ok", "张三", "01/09/2026"], ["C2", "core", "ok", "张三", "now"],
            ["C3", "core", "ok", "张三", "Sept 2026"], ["C4", "core", "ok", "张三", "2026/09/01"],
            ["C5", "core", "ok", "张三", "2026年9月1日"]]
    path = write_csv(tmp_path / "o.csv", header, rows)
    with pytest.raises(OverrideError) as info:
        read_overrides(path)
    message = str(info.value)
    assert message.startswith(f"{path}: 3 problem(s)")
    assert "row 2, column '日期': date '01/09/2026': day and month could be either way round" in message
    assert "row 3, column '日期': date 'now' is not a date" in message
    assert "row 4, column '日期': date 'Sept 2026' is not a date" in message
    good = write_csv(tmp_path / "good.csv", header, rows[3:])
    assert read_overrides(good)["date"].tolist() == [pd.Timestamp("2026-09-01")] * 2


def test_override_date_cells_of_a_workbook_are_dates(tmp_path):
    wb = Workbook()
    wb.active.append(["customer_id", "tier", "reason", "reviewer", "date"])
    wb.active.append(["C1", "core", "ok", "Li", dt.datetime(2026, 9, 1)])  # an Excel date cell
    wb.save(tmp_path / "o.xlsx")
    assert read_overrides(tmp_path / "o.xlsx")["date"].tolist() == [pd.Timestamp("2026-09-01")]
    (tmp_path / "o.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(OverrideError, match=r"o\.xls: \.xls \(Excel 97-2003\) is not read; save it as \.xlsx"):
        read_overrides(tmp_path / "o.xls")


# --- 3. YAML ------------------------------------------------------------------------------------


def _alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_before_it_expands(folder, tmp_path, capsys):
    _manifest(folder, _alias_bomb())
    with pytest.raises(ConfigError, match="more than 100,000 values once its aliases are expanded"):
        load_dataset(folder)
    (folder / "dataset.yaml").unlink()
    config = tmp_path / "bomb.yaml"
    config.write_text("tiers:\n  review: {margin: 0.05}\n" + _alias_bomb(), encoding="utf-8")
    assert main(["tiers", "--data", str(folder), "--as-of", "2026-09-30", "--config", str(config),
                 "--out", str(tmp_path / "t.csv")]) == 2
    err = capsys.readouterr().err
    assert f"{config}: more than 100,000 values" in err and len(err) < 500
    many = "\n".join(f"k{i}: *a" for i in range(101))
    config.write_text(f"a: &a 1\n{many}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="more than 100 aliases"):
        read_user_config(config)
    config.write_text("a: &a [*a]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="recursive alias"):
        read_user_config(config)


def test_a_key_written_twice_is_an_error_naming_it_and_its_lines(tmp_path):
    config = tmp_path / "dup.yaml"
    config.write_text("tiers:\n  review: {margin: 0.05}\nrfm:\n  default_scheme: handbook\ntiers:\n  review: {margin: 0.2}\n",
                      encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_user_config(config)
    assert str(info.value) == (f"{config}: key 'tiers' is written twice (lines 1 and 5); YAML would silently keep "
                               "only the last one: merge them into one")
    config.write_text("tiers:\n  review:\n    margin: 0.05\n    margin: 0.2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="key 'margin' is written twice \\(lines 3 and 4\\)"):
        read_user_config(config)
    # a merge key then an override of one of its keys is what YAML intends, not a duplicate
    merged = parse_yaml("base: &b {margin: 0.05, basis: x}\nreview:\n  <<: *b\n  margin: 0.2\n", "my.yaml")
    assert merged["review"] == {"margin": 0.2, "basis": "x"}


def test_a_dataset_yaml_that_is_a_list_or_huge_is_a_clear_error(folder, capsys):
    _manifest(folder, "- name: t\n- as_of: 2026-09-30\n")
    assert main(["validate", str(folder), "--rejected", str(folder.parent / "r.csv")]) == 2
    assert f"{folder / 'dataset.yaml'}: the top level is a list; it must be keys such as name, as_of" in capsys.readouterr().err
    _manifest(folder, "name: " + "x" * (MAX_YAML_BYTES + 1) + "\n")
    with pytest.raises(ConfigError, match="bytes; segkit reads YAML files of at most 1,000,000 bytes"):
        load_dataset(folder)


def test_an_error_message_never_prints_a_whole_huge_value(tmp_path, capsys):
    config = tmp_path / "big.yaml"
    config.write_text("tiers:\n  review:\n    margin: '" + "9" * 400_000 + "'\n", encoding="utf-8")
    assert main(["tiers", "--data", str(SAMPLE), "--as-of", "2026-09-30", "--config", str(config),
                 "--out", str(tmp_path / "t.csv")]) == 2
    err = capsys.readouterr().err
    assert f"invalid configuration in {config}:\n  - review.margin: Input should be less than 1 (got '999" in err and "(400,002 characters)" in err and len(err) < 1500


# --- 4. --config in tiers -----------------------------------------------------------------------


def test_tiers_reads_the_data_with_the_config_vocabularies(folder, tmp_path):
    config = tmp_path / "my.yaml"
    config.write_text("vocabularies:\n  industry:\n    manufacturing: {zh: 制造业, en: Manufacturing, synonyms: [新材料]}\n"
                      "    agriculture: {zh: 农业, en: Agriculture}\n", encoding="utf-8")
    out = tmp_path / "t.csv"
    assert main(["tiers", "--data", str(folder), "--as-of", "2026-09-30", "--config", str(config),
                 "--lang", "en", "--out", str(out)]) == 0
    table = pd.read_csv(out, dtype=str).set_index("Customer ID")
    assert table.loc[["C1", "C2"], "Industry"].tolist() == ["Manufacturing", "Manufacturing"]  # 新材料 by the config
    assert main(["tiers", "--data", str(folder), "--as-of", "2026-09-30", "--lang", "en", "--out", str(out)]) == 0
    assert pd.read_csv(out, dtype=str).set_index("Customer ID").loc["C2", "Industry"] == "新材料"  # kept as written


# --- 5. / 6. --quarter and --out ----------------------------------------------------------------


@pytest.mark.parametrize("quarter", ["2026", "2026/07/15", "../../x", "2026Q5", "Q3"])
def test_an_invalid_quarter_writes_nothing_anywhere(tmp_path, capsys, quarter):
    work = tmp_path / "work"
    out = work / "out"
    work.mkdir()
    for command in (["quarter-outputs", "--data", str(SAMPLE)], ["report", "quarterly", "--data", str(SAMPLE)]):
        assert main([*command, "--quarter", quarter, "--out", str(out)]) == 2
        assert f"not a quarter: {quarter!r}; write it like 2026Q3" in capsys.readouterr().err
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["work"]


def test_report_options_are_checked_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["report", "quarterly", "--quarter", "2026Q3", "--lang", "zh,fr", "--out", str(out)]) == 2
    assert "--lang 'zh,fr': use zh or en, or both: zh,en" in capsys.readouterr().err
    assert main(["report", "quarterly", "--quarter", "2026Q3", "--format", "docx", "--out", str(out)]) == 2
    assert "--format 'docx': use html or pdf, or both: html,pdf" in capsys.readouterr().err
    assert not out.exists()


def test_quarter_spellings():
    assert [parse_quarter(q) for q in ("2026Q3", "2026q3", "2026-Q3", "2026 Q3")] == ["2026Q3"] * 4


def test_out_naming_a_folder_or_a_file_is_a_clear_error(folder, tmp_path, capsys):
    existing = tmp_path / "existing"
    existing.mkdir()
    for command in ("snapshot", "tiers"):
        assert main([command, "--data", str(folder), "--as-of", "2026-09-30", "--out", str(existing)]) == 2
        assert f"--out {existing} is a folder; name the file to write in it" in capsys.readouterr().err
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me", encoding="utf-8")
    assert main(["quarter-outputs", "--data", str(SAMPLE), "--out", str(a_file)]) == 2
    assert f"--out {a_file} is a file; name a folder" in capsys.readouterr().err
    assert main(["report", "quarterly", "--data", str(SAMPLE), "--quarter", "2026Q3", "--out", str(a_file / "sub")]) == 2
    assert f"is inside {a_file}, which is a file" in capsys.readouterr().err
    assert a_file.read_text(encoding="utf-8") == "keep me" and sorted(os.listdir(existing)) == []


def test_a_table_is_replaced_whole_or_not_at_all(folder, tmp_path):
    out = tmp_path / "t.csv"
    out.write_text("earlier", encoding="utf-8")
    assert main(["tiers", "--data", str(folder), "--as-of", "2026-09-30", "--out", str(out)]) == 0
    assert len(pd.read_csv(out)) == 3 and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    # a failing run (an unknown override customer) leaves the earlier table as it was
    before = out.read_bytes()
    bad = write_csv(tmp_path / "o.csv", ["客户编号", "层级", "原因", "复核人", "日期"], [["C9", "core", "x", "y", "2026-09-01"]])
    assert main(["tiers", "--data", str(folder), "--as-of", "2026-09-30", "--overrides", str(bad), "--out", str(out)]) == 2
    assert out.read_bytes() == before


# --- 7. report file names -------------------------------------------------------------------------


def test_department_report_names_are_unique_and_stable():
    names = ["华东/销售部", "华东 销售部", "华东_销售部", "华东销售部", "a" * 300]
    paths = [report_path("reports", "2026Q3", "quarterly", "zh", name) for name in names]
    assert len({p.name for p in paths}) == len(names)
    assert paths[3].name == "quarterly-华东销售部-zh.html"  # a clean name is kept as it is
    assert paths[0].name == "quarterly-华东_销售部-560416-zh.html" == report_path(
        "reports", "2026Q3", "quarterly", "zh", "华东/销售部").name
    assert all(len(p.name.encode("utf-8")) < 255 for p in paths) and _slug("../..") != ".."
    with pytest.raises(ValueError, match=r"departments \['Sales', 'sales'\] would share one report file name"):
        render_departments("quarterly", ["Sales", "sales"], data_dir=SAMPLE)


# --- 8. mass rejection ------------------------------------------------------------------------------


def test_tiers_and_snapshot_stop_when_nearly_every_order_is_rejected(tmp_path, capsys):
    data = tmp_path / "us"
    data.mkdir()
    write_csv(data / "customers.csv", ["客户编号", "客户名称"], [["00030", "c30"]])
    # ids exported without their leading zeros: the orders belong to no customer of the customers file
    write_csv(data / "orders.csv", ORDERS, [[f"{i}", "1997-01-02", "1177.00"] for i in range(1, 30)]
              + [["00030", "1997-01-02", "12"]])
    assert main(["validate", str(data), "--rejected", str(tmp_path / "r.csv")]) == 2
    assert "transactions: unknown customer_id: 29 of 30 rows (97%)" in capsys.readouterr().err
    assert len(pd.read_csv(tmp_path / "r.csv")) == 29  # validate still writes the ledger
    for command in ("tiers", "snapshot"):
        out = tmp_path / f"{command}.csv"
        assert main([command, "--data", str(data), "--as-of", "1997-01-31", "--out", str(out)]) == 2
        assert "transactions: unknown customer_id: 29 of 30 rows (97%)" in capsys.readouterr().err and not out.exists()


# --- 9. a closed pipe -------------------------------------------------------------------------------


def test_a_closed_pipe_ends_quietly(folder):
    """``segkit validate DIR | head -1``: the reader is gone before segkit prints."""
    proc = subprocess.Popen([sys.executable, "-m", "segkit.cli", "validate", str(folder), "--as-of", "2026-09-30",
                             "--rejected", str(folder.parent / "r.csv")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    proc.stdout.close()  # long before the child has imported pandas and prints
    err = proc.stderr.read().decode()
    assert proc.wait() == 141 and err == ""
