"""The ADBench "Classical" collection (Han et al., NeurIPS 2022) as ``adbench:<id>_<name>`` datasets.

Naming rule: the file ``<id>_<Name>.npz`` is the dataset ``adbench:<id>_<name>`` (lower case,
e.g. ``adbench:38_thyroid``, ``adbench:22_magic.gamma``), and ``adbench:<name>`` is an alias
(``adbench:thyroid``) because no two ADBench names differ only by their id.  The files hold
``X`` (rows x features) and ``y`` (1 = anomaly).  Only files whose sha256 is known are
catalogued, so every download is checked.  ``suite:adbench`` is every ADBench dataset whose file
is present locally.  Their default protocol is ADBench's own (``adbench``).
"""

from __future__ import annotations

from adbench_dagmm.dataset import DatasetCard
from adbench_dagmm.hookspecs import hookimpl
from adbench_dagmm.registry import Suite

from .catalog import CatalogEntry, make_dataset_class, present_members

URL = "https://github.com/Minqi824/ADBench/raw/main/adbench/datasets/Classical/{stem}.npz"
#: jsDelivr's copy of the same repository file (the sha256 check makes any other bytes an error).
MIRROR = "https://cdn.jsdelivr.net/gh/Minqi824/ADBench@main/adbench/datasets/Classical/{stem}.npz"
CITATION = (
    "Songqiao Han, Xiyang Hu, Hailiang Huang, Mingqi Jiang, Yue Zhao. ADBench: Anomaly "
    "Detection Benchmark. NeurIPS 2022 Datasets and Benchmarks Track."
)

#: file stem -> (rows, features, anomalies, sha256)
CATALOG: dict[str, tuple[int, int, int, str]] = {
    "1_ALOI": (49534, 27, 1508, "792d0b5bd1147bfc9574a1974f157b39fbd4cbed8ecd04cf983fd554498ed477"),
    "2_annthyroid": (7200, 6, 534, "e738f7c58a8740d2c4aac4c71ff49ce5e1d1aa16f44178135fc9c09df05fad1b"),
    "4_breastw": (683, 9, 239, "4f37ce07dbc25ddad8178fdc6d664ab46d2d0000ee28c2787c3c7ff3c03ef9f6"),
    "5_campaign": (41188, 62, 4640, "74dd4d0072d6c6f1aabab63bc102f9633454f32bb936fa9bcfbd38f9f2386bcd"),
    "7_Cardiotocography": (2114, 21, 466, "5ae84910430f05923e11b6f537243263977c9136949dabd891e3570aeec51e29"),
    "8_celeba": (202599, 39, 4547, "1cadfdea14cd8d240eca715a70c09c88af8621d086a7478c63f602d97adef0b5"),
    "10_cover": (286048, 10, 2747, "945a097c3542ae81a551bf1c06dcad78a755d94f84fcaf1d60687e42d1a656df"),
    "11_donors": (619326, 10, 36710, "5824ec854465f2763b4bfe3da1ae9f25ed5433b5c6e265d42e37da4f82a58679"),
    "12_fault": (1941, 27, 673, "ec27301f9a4cf7c5d8b22c360cf37ddb043b7fb062465723dfd8b34e2771e5dd"),
    "14_glass": (214, 7, 9, "aa7a8db1d475ba01a10488af454bc15220a3d5951b010b03b7020567d8152cdc"),
    "15_Hepatitis": (80, 19, 13, "4a87a2f7d8013e5bfde63294fae61ec7a612322de72f338a7f9491749025ad98"),
    "16_http": (567498, 3, 2211, "9d98710091551587f4740cfc851a6b064fff6319a337c2dc77ee6da4bcc2e02c"),
    "17_InternetAds": (1966, 1555, 368, "bdd8ad5cf5bf2cb96cba53dde30d522d0f6a279083a8e2bc7efbac5981b04385"),
    "18_Ionosphere": (351, 32, 126, "bca46cb0cfd1bf9ddef6cde5ad2215d54fb0189508d0d4c4eb98e788cad69001"),
    "19_landsat": (6435, 36, 1333, "ba17e2158c07469597b89db49d3982c874c6b713ff6670721ddc88969da77987"),
    "20_letter": (1600, 32, 100, "f986d3da80cf1fa2aea83a5ebe73b7d4800e0d4c01fdd1ae074b58d20f10d039"),
    "21_Lymphography": (148, 18, 6, "dad977b04f4ea65b78ccd0e9f76b45175bad605165b37e63f3cc177845e67037"),
    "22_magic.gamma": (19020, 10, 6688, "0be375984d7af9ea7a63b12206c240840d8b7daa3607021c5fb8756407dd86f1"),
    "24_mnist": (7603, 100, 700, "be7706272325fdd3592c1be555ae1a82f916a2f8545f4f8cbaa548ab102cc44c"),
    "25_musk": (3062, 166, 97, "2ed3f4392197b76a1e59116ff880c7720a4b026cf4842073a53b56fdea265017"),
    "27_PageBlocks": (5393, 10, 510, "10a9b4d5bb5d3b9083caab4c4062f665610eada703c3d927bf7c34b1f2d0d223"),
    "28_pendigits": (6870, 16, 156, "c4936b89dcdad59d303020e492f763a0f54170080d787c77497609acbb9c2d79"),
    "30_satellite": (6435, 36, 2036, "1f048f5686f1b8c16a227fdfa3c81a62cd9a92715714a6b24c69b1c5ad96b46e"),
    "33_skin": (245057, 3, 50859, "d02aa01ffc1b6bf2b8b1ac250c90e8a8eacd0cefc962940ed5cc4bf5deac9c95"),
    "34_smtp": (95156, 3, 30, "d2569fc9bc12115419e3f5b37d19921e10e6c26e5ad1e61064cfb0fbc402dfdd"),
    "35_SpamBase": (4207, 57, 1679, "d0c46c7928e43f6496bcd06e09de0b70f6bc8143792dfa0a43f450263d254e9b"),
    "37_Stamps": (340, 9, 31, "99fe739447284f613fa54bf2dccdb51c5120175ce6260adec6dad77576c42509"),
    "38_thyroid": (3772, 6, 93, "8de161b3f235b7647bb0b39a836d983ff61d67bf234edac461da2d71e889cb87"),
    "39_vertebral": (240, 6, 30, "0816286f92b96fe6867664a41a031ac7228dcfbf1a5feefe50ca3883b2e9073d"),
    "40_vowels": (1456, 12, 50, "4bfc4244d1c882773bbbc50d4a5db5e52276e53506e46b2d45e02d074cfcb1b6"),
    "41_Waveform": (3443, 21, 100, "6c9d867337ad1a2f8372c1d27f4c032f0401237e2041b7c45f00de8d319ff30f"),
    "42_WBC": (223, 9, 10, "650f9dcb129248f67a291be0974f533ef259fcbde50fce5c8ad2a1cb2652d03b"),
    "43_WDBC": (367, 30, 10, "78d4606a1ab516f5b60b00c196497f3bbd6bd5e4548fd04cf5f2475209b34b85"),
    "45_wine": (129, 13, 10, "d5ad8965d92cc57122fe1e6572bb301adbaf795b3e166d187ae00a704d8f6e20"),
    "46_WPBC": (198, 33, 47, "68a6d67242643855713bcdad07d89ecc472bd00000dccc17ba87916eb2693d19"),
}


def dataset_name(stem: str) -> str:
    """``38_thyroid`` -> ``adbench:38_thyroid`` (the naming rule)."""
    return f"adbench:{stem.lower()}"


def alias_name(stem: str) -> str:
    """``38_thyroid`` -> ``adbench:thyroid``."""
    return f"adbench:{stem.split('_', 1)[1].lower()}"


def entry(stem: str) -> CatalogEntry:
    rows, features, anomalies, sha256 = CATALOG[stem]
    return CatalogEntry(f"adbench/{stem}.npz", rows, features, anomalies, sha256,
                        mirrors=(MIRROR.format(stem=stem),))


def _card(stem: str) -> DatasetCard:
    rows, features, anomalies, sha256 = CATALOG[stem]
    return DatasetCard(
        name=dataset_name(stem),
        description=f"ADBench Classical {stem}: {rows:,} rows x {features} features.",
        source_url=URL.format(stem=stem),
        sha256=sha256,
        citation=CITATION,
        anomaly_definition=(
            f"y = 1 ({anomalies} rows, {anomalies / rows:.2%}): the anomaly class ADBench "
            "defined for this dataset (Han et al. 2022, Appendix: the minority or semantically "
            "abnormal class of the source data)."
        ),
        default_protocol="adbench",
    )


DATASETS = [
    make_dataset_class(dataset_name(stem), entry(stem), _card(stem),
                       f"ADBench {stem} ({CATALOG[stem][0]} x {CATALOG[stem][1]}).", module=__name__)
    for stem in CATALOG
]
_aliases = [alias_name(stem) for stem in CATALOG]
assert len(set(_aliases)) == len(_aliases), "two ADBench names differ only by id; drop the aliases"
ALIASES = [
    make_dataset_class(alias_name(stem), entry(stem), _card(stem),
                       f"Alias of {dataset_name(stem)}.", alias_of=dataset_name(stem), module=__name__)
    for stem in CATALOG
]


@hookimpl
def adb_register_datasets(register):  # type: ignore[no-untyped-def]
    for cls in DATASETS + ALIASES:
        register(cls)


@hookimpl
def adb_register_suites(register):  # type: ignore[no-untyped-def]
    register(Suite(kind="dataset", name="adbench",
                   members=present_members(DATASETS, "adbench", "ADBench"),
                   description="The ADBench Classical datasets whose files are present locally."))
