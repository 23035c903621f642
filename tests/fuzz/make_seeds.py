#!/usr/bin/env python3
# Regenerates the checked-in seed corpora under tests/fuzz/corpus/ from the shared TRON test vectors,
# so the fuzzers start from real transactions and addresses instead of rediscovering protobuf.
# Usage: tests/fuzz/make_seeds.py [VECTORS_JSON]   (default: <repo>/../shared/tron/vectors.json)
import json
import pathlib
import shutil
import sys

HERE = pathlib.Path(__file__).resolve().parent
vectors_path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else \
    HERE.parents[2] / "shared" / "tron" / "vectors.json"
vectors = json.loads(vectors_path.read_text())
generated = vectors["generated"]
corpus = HERE / "corpus"


def fresh(name):
    path = corpus / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


tx_decoder = fresh("tx_decoder")
tx_facts = fresh("tx_facts")
for v in generated + vectors.get("derived", []) + vectors.get("external", []):
    name = v["id"].lower()
    if "signed_tx_hex" in v:
        (tx_decoder / f"{name}_signed").write_bytes(bytes.fromhex(v["signed_tx_hex"]))
    (tx_decoder / f"{name}_raw").write_bytes(bytes.fromhex(v["raw_data_hex"]))
    (tx_facts / f"{name}_raw").write_bytes(bytes.fromhex(v["raw_data_hex"]))

address = fresh("address")
for key_id, key in vectors["keys"].items():
    k = key_id.lower()
    (address / f"{k}_base58").write_text(key["address_base58"])
    (address / f"{k}_hex").write_text(key["address_hex"])
    (address / f"{k}_hex_upper").write_text("0x" + key["address_hex"].upper())
# A wrong checksum and a wrong prefix: both error paths of a well-formed-looking address.
k1 = vectors["keys"]["K1"]["address_base58"]
(address / "bad_checksum").write_text(k1[:-1] + ("D" if k1[-1] != "D" else "E"))
(address / "bad_prefix_hex").write_text("42" + vectors["keys"]["K1"]["address_hex"][2:])

tx_json = fresh("tx_json")
for v in generated:
    name = v["id"].lower()
    (tx_json / f"{name}_raw_data").write_text(json.dumps(v["raw_data_json_tronweb"]))
    full = {
        "visible": False,
        "txID": v["txid"],
        "raw_data": v["raw_data_json_tronweb"],
        "raw_data_hex": v["raw_data_hex"],
        "signature": [v["signature_hex"]],
    }
    (tx_json / f"{name}_signed").write_text(json.dumps(full, separators=(",", ":")))
