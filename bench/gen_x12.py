"""Generate real-shaped X12 files for the benchmarks: an 837P of N claims and an 835 paying them.

Claims cycle through mild® CED claims (0275T Q0, M48.062 + Z00.6, REF*P4), mild® claims without the trial
number, and ESI claims with fluoroscopy (64483 + 77003); each has its own subscriber loop. The 835 pays every
claim by CLP01, denies every third (CO-16 + MA50) and the 77003 lines (CO-97). Names and member ids are made up.
"""

from __future__ import annotations

from pathlib import Path

HEADER_837 = [
    "ISA*00*          *00*          *ZZ*DEMOSUBMIT     *ZZ*CLEARINGHOUSE  *260309*1200*^*00501*000000101*0*T*:",
    "GS*HC*DEMOSUBMIT*CLEARINGHOUSE*20260309*1200*101*X*005010X222A1",
]


def claim_segments(n: int, hl: int) -> list[str]:
    kind = n % 3
    ref = f"C{n:07d}"
    segs = [
        f"HL*{hl}*1*22*0",
        "SBR*P*18*******MB",
        f"NM1*IL*1*LAST{n}*FIRST****MI*{n:09d}A",
        "N3*1 ELM STREET",
        "N4*BIRMINGHAM*AL*352050000",
        "DMG*D8*19480115*F",
        "NM1*PR*2*MEDICARE PART B*****PI*10112",
    ]
    if kind in (0, 1):
        segs += [f"CLM*{ref}*9500***24:B:1*Y*A*Y*Y"]
        if kind == 0:
            segs.append("REF*P4*03072927")
        segs += [
            "HI*ABK:M48062*ABF:Z006",
            "NM1*82*1*PHYSICIAN*DEMO****XX*1234567893",
            "LX*1",
            "SV1*HC:0275T:Q0*9500*UN*1***1:2",
            "DTP*472*D8*20260302",
            f"REF*6R*{ref}-1",
        ]
    else:
        segs += [
            f"CLM*{ref}*1450***24:B:1*Y*A*Y*Y",
            "HI*ABK:M5416",
            "NM1*82*1*PHYSICIAN*DEMO****XX*1234567893",
            "LX*1",
            "SV1*HC:64483*1200*UN*1***1",
            "DTP*472*D8*20260302",
            f"REF*6R*{ref}-1",
            "LX*2",
            "SV1*HC:77003*250*UN*1***1",
            "DTP*472*D8*20260302",
            f"REF*6R*{ref}-2",
        ]
    return segs


def write_837(path: Path, claims: int) -> Path:
    with open(path, "w", encoding="latin-1") as fh:
        for seg in HEADER_837:
            fh.write(seg + "~\n")
        body = [
            "ST*837*0001*005010X222A1",
            "BHT*0019*00*BATCH0101*20260309*1200*CH",
            "NM1*41*2*DEMO SPINE AND PAIN CENTER*****46*DEMOSUBMIT",
            "PER*IC*BILLING OFFICE*TE*2055550100",
            "NM1*40*2*DEMO CLEARINGHOUSE*****46*CLEARINGHOUSE",
            "HL*1**20*1",
            "NM1*85*2*DEMO SPINE AND PAIN CENTER*****XX*1000000004",
            "N3*100 MAIN STREET",
            "N4*BIRMINGHAM*AL*352030000",
            "REF*EI*630000001",
        ]
        count = 0
        for seg in body:
            fh.write(seg + "~\n")
            count += 1
        for n in range(claims):
            for seg in claim_segments(n, n + 2):
                fh.write(seg + "~\n")
                count += 1
        fh.write(f"SE*{count + 1}*0001~\nGE*1*101~\nIEA*1*000000101~\n")
    return path


def write_835(path: Path, claims: int, trace: str = "EFT0000777") -> Path:
    segs = [
        "ST*835*0001",
        "BPR*I*1000*C*ACH*CCP*01*999999999*DA*123456789*1512345678**01*999988880*DA*98765*20260401",
        f"TRN*1*{trace}*1512345678",
        "DTM*405*20260331",
        "N1*PR*MEDICARE PART B",
        "N3*PO BOX 100",
        "N4*BIRMINGHAM*AL*352030000",
        "REF*2U*10112",
        "PER*BL*TECHNICAL SUPPORT*TE*8005550100",
        "N1*PE*DEMO SPINE AND PAIN CENTER*XX*1000000004",
        "LX*1",
    ]
    with open(path, "w", encoding="latin-1") as fh:
        fh.write(
            "ISA*00*          *00*          *ZZ*MEDICAREJ      *ZZ*DEMOSUBMIT     *260401*0900*^*00501"
            "*000000777*0*T*:~\n"
        )
        fh.write("GS*HP*MEDICAREJ*DEMOSUBMIT*20260401*0900*777*X*005010X221A1~\n")
        count = 0
        for seg in segs:
            fh.write(seg + "~\n")
            count += 1
        for n in range(claims):
            ref = f"C{n:07d}"
            if n % 3 == 1:
                lines = [
                    f"CLP*{ref}*4*9500*0*0*MB*2606800{n:07d}*24*1",
                    "CAS*CO*16*9500",
                    f"NM1*QC*1*LAST{n}*FIRST",
                    "MOA***MA50",
                ]
            elif n % 3 == 0:
                lines = [
                    f"CLP*{ref}*1*9500*7600*0*MB*2606800{n:07d}*24*1",
                    f"NM1*QC*1*LAST{n}*FIRST",
                    "SVC*HC:0275T:Q0*9500*7600**1",
                    "DTM*472*20260302",
                    "CAS*CO*45*1900",
                    f"REF*6R*{ref}-1",
                ]
            else:
                lines = [
                    f"CLP*{ref}*1*1450*960*0*MB*2606800{n:07d}*24*1",
                    f"NM1*QC*1*LAST{n}*FIRST",
                    "SVC*HC:64483*1200*960**1",
                    "DTM*472*20260302",
                    "CAS*CO*45*240",
                    f"REF*6R*{ref}-1",
                    "SVC*HC:77003*250*0**1",
                    "DTM*472*20260302",
                    "CAS*CO*97*250",
                    f"REF*6R*{ref}-2",
                    "LQ*HE*M80",
                ]
            for seg in lines:
                fh.write(seg + "~\n")
                count += 1
        fh.write(f"SE*{count + 1}*0001~\nGE*1*777~\nIEA*1*000000777~\n")
    return path
