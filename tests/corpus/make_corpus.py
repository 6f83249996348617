"""Regenerate the ingest corpus: ``python tests/corpus/make_corpus.py``.

The files are committed; this script documents how each was made. ``broken/`` holds files that must
fail with one clear line; ``awkward/`` holds files that are odd but valid.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zipfile
from pathlib import Path

HERE = Path(__file__).parent


def _xlsx_bytes() -> bytes:
    import xlsxwriter  # dev dependency

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("runs")
    sheet.write_row(0, 0, ["Report of run series 7"])
    sheet.write_row(2, 0, ["run", "temperature [degC]", "catalyst", "yield [%]"])
    for i in range(6):
        sheet.write_row(3 + i, 0, [i + 1, 20.0 + 5 * i, "Pd" if i % 2 else "Ni", 40.0 + 3 * i])
    book.add_worksheet("notes").write_row(0, 0, ["note"])
    book.close()
    return buffer.getvalue()


BROKEN: dict[str, bytes] = {
    "empty.csv": b"",
    "whitespace_only.csv": b"   \n\n\t \n",
    "image.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(64)),
    "random.bin": bytes((i * 37 + 11) % 256 for i in range(2048)),
    "two_line_prose.txt": b"Just some prose here.\nNothing tabular at all, really.\n",
    "prose.txt": (
        b"Dear colleague, thank you for the samples.\n"
        b"We ran them on Tuesday, and again, after calibration, on Friday.\n"
        b"The results are attached; please call me.\n"
        b"Best regards, and see you soon, at the meeting, next week.\n"
    ),
    "ragged_long.csv": (
        b"run,temp,time,catalyst,yield\n"
        + b"".join(b"%d,25,60,Pd,50\n" % i for i in range(1, 6))
        + b"6,25,60,Pd,Ni,50\n"
        + b"7,25,60,Pd,50\n"
    ),
    "ragged_short.csv": (
        b"run;temp;time;catalyst;yield\n1;25;60;Pd;50\n2;25;60;Pd;51\n3;25;60\n4;25;60;Pd;52\n"
    ),
    "truncated.csv.gz": gzip.compress(
        b"a,b\n" + b"".join(b"%d,%d\n" % (i, (i * 7919) % 1013) for i in range(400))
    )[:600],
    "corrupt.parquet": b"PAR1\x15\x04\x15\x10\x15\x14L\x15\x02\x15\x00garbage-not-parquet",
    "truncated.xlsx": _xlsx_bytes()[:700],
    "not_a_zip.xlsx": b"PK\x03\x04this is not really a zip archive",
    "bad_line.jsonl": b'{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n{"a": 3, "b": }\n',
}


def _awkward() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    files["european_preamble.csv"] = (
        "Instrument: HPLC-2\r\nOperator; J. Doe\r\nDate: 01.03.2024\r\n\r\n"
        "Probe;Temperatur (°C);Zeit [min];Ausbeute [%]\r\n"
        "A1;25,5;90;50,25\r\nA2;30,0;120;61,5\r\nA3;35,5;150;70,75\r\n"
    ).encode("cp1252")
    files["utf16_tab.txt"] = codecs.BOM_UTF16_LE + (
        "sample\tconc [mM]\tabs\nS1\t0.5\t0.12\nS2\t1.0\t0.25\nS3\t2.0\t0.49\n"
    ).encode("utf-16-le")
    files["quoted_newlines.csv"] = (
        b'run,comment,yield [%]\n1,"fine",50\n2,"two\nlines",55\n3,"has, comma",60\n'
    )
    files["mixed_units.csv"] = (
        b"run,time,temperature\n"
        + b"".join(b"%d,%d min,%d degC\n" % (i, 30 + 10 * i, 20 + i) for i in range(1, 9))
        + b"9,2 h,300 K\n10,5400 s,25 degC\n"
    )
    files["pipe_blank_lines.txt"] = b"a|b|c\n1|2|x\n\n3|4|y\n\n5|6|z\n\n"
    files["aligned.dat"] = (
        b"time   signal  flag\n0.0    1.25    ok\n0.5    1.50    ok\n1.0    1.75    bad\n"
    )
    files["header_only.csv"] = b"run,temperature [degC],yield [%]\n"
    files["duplicate_headers.csv"] = b"x,x,,y\n1,2,3,4\n5,6,7,8\n"
    files["latin1_semicolon.csv"] = "name;wert\nGrüße;1,5\nÄrger;2,5\n".encode("latin-1")
    files["data.csv.gz"] = gzip.compress(b"id,value [g/L]\n1,0.5\n2,0.75\n3,1.0\n")
    files["runs.xlsx"] = _xlsx_bytes()
    files["records.ndjson"] = b'{"run": 1, "yield": 50.5}\n\n{"run": 2, "yield": 61.0}\n'
    files["dates.csv"] = (
        b"timestamp,day,ok\n2024-03-01T12:00:00,01.03.2024,yes\n2024-03-02T08:30:00,02.03.2024,no\n"
    )
    files["trailing_semicolons.csv"] = (
        b"Instrument: UV-1800\nsample;A260 [AU];A280 [AU]\n"
        b"S1;1,204;0,611;\nS2;0,985;0,502;\nS3;1,530;0,790;\n"
    )
    files["trailing_commas_crlf.csv"] = (
        b"run,temperature [degC],yield [%],\r\n1,60,41.5,\r\n2,70,48.0,\r\n3,80,55.2,\r\n"
    )
    files["headerless.csv"] = (
        b"0.252,4.9,111.8\n0.212,2.36,113.8\n0.346,oops,114.8\n1.24,2.43,64.8\n"
    )
    files["spectrum_header.csv"] = (
        b"sample,4000.5,3998.6,3996.7\nA,0.012,0.013,0.015\nB,0.021,0.022,0.020\nC,0.008,0.009,0.011\n"
    )
    files["second_header.csv"] = (
        b"NAME,catalyst,t_res,temperature,yld\nTYPE,DATA,DATA,DATA,DATA\n"
        b"0,P1-L3,600,30,0.6\n1,P1-L6,60,110,29.4\n2,P2-L1,300,70,12.5\n"
    )
    return files


def main() -> None:
    for folder, files in (("broken", BROKEN), ("awkward", _awkward())):
        target = HERE / folder
        target.mkdir(exist_ok=True)
        for name, data in files.items():
            (target / name).write_bytes(data)
    with zipfile.ZipFile(io.BytesIO(_xlsx_bytes())) as archive:  # sanity: the good one is a zip
        assert archive.namelist()


if __name__ == "__main__":
    main()
