#!/usr/bin/env python3
"""Generate examples/acme/directory.json: the Acme demo directory.

500 people in a real reporting tree (CEO, department heads, managers, staff)
and the directory groups the Acme policy's approver pools and app owners
refer to. Deterministic: a fixed seed and fixed name lists, so running it
again gives the same file byte for byte.

    python3 scripts/gen_acme_directory.py            # writes the file
    python3 scripts/gen_acme_directory.py --check    # exit 1 if it is stale

Everyone the policy names (owners, approvers, test requesters) is in the
KEY_PEOPLE table below; the rest are generated around them.
"""

import argparse
import json
import os
import random
import sys

SEED = 20261127
TOTAL = 500
DOMAIN = "acme.com"

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "examples", "acme", "directory.json")

LOCATIONS = [
    ("San Francisco", 30),
    ("New York", 20),
    ("London", 18),
    ("Berlin", 10),
    ("Toronto", 10),
    ("Remote (US)", 12),
]

# Department sizes, CEO excluded. They sum to TOTAL - 1.
DEPARTMENTS = [
    ("engineering", 169),
    ("sales", 85),
    ("support", 50),
    ("marketing", 40),
    ("product", 25),
    ("data", 25),
    ("finance", 25),
    ("it", 20),
    ("people", 20),
    ("design", 15),
    ("security", 15),
    ("legal", 10),
]

STAFF_TITLES = {
    "engineering": ["Software Engineer", "Senior Software Engineer", "Staff Engineer", "Site Reliability Engineer",
                    "QA Engineer", "Mobile Engineer"],
    "sales": ["Account Executive", "Senior Account Executive", "Sales Development Representative",
              "Solutions Engineer", "Account Manager"],
    "support": ["Support Specialist", "Senior Support Specialist", "Technical Support Engineer"],
    "marketing": ["Marketing Specialist", "Content Marketing Manager", "Product Marketing Manager",
                  "Growth Marketer"],
    "product": ["Product Manager", "Senior Product Manager", "Technical Program Manager"],
    "data": ["Data Analyst", "Data Engineer", "Analytics Engineer", "Data Scientist"],
    "finance": ["Accountant", "Financial Analyst", "Accounts Payable Specialist", "Payroll Specialist"],
    "it": ["IT Support Engineer", "Systems Administrator", "IT Analyst"],
    "people": ["HR Business Partner", "Recruiter", "People Operations Specialist"],
    "design": ["Product Designer", "Senior Product Designer", "UX Researcher"],
    "security": ["Security Engineer", "Security Analyst", "GRC Analyst"],
    "legal": ["Corporate Counsel", "Paralegal", "Privacy Counsel"],
}
MANAGER_TITLE = {
    "engineering": "Engineering Manager", "sales": "Sales Manager", "support": "Support Manager",
    "marketing": "Marketing Manager", "product": "Group Product Manager", "data": "Data Manager",
    "finance": "Finance Manager", "it": "IT Manager", "people": "People Manager", "design": "Design Manager",
    "security": "Security Manager", "legal": "Legal Manager",
}

FIRST = ["adam", "alice", "amir", "ana", "andre", "anna", "arjun", "ava", "beatrice", "bruno", "caleb", "camila",
         "carlos", "charlotte", "chen", "clara", "daniel", "david", "eli", "ella", "emil", "emma", "erik", "eva",
         "felix", "freya", "gabriel", "gemma", "hana", "hugo", "ian", "ines", "isaac", "isabel", "jack", "jade",
         "jin", "joao", "jonas", "julia", "kai", "karen", "kenji", "kira", "leah", "leon", "lily", "lina", "lucia",
         "luis", "maria", "mateo", "max", "mia", "miguel", "mila", "nadia", "nathan", "nora", "oliver", "paula",
         "paulo", "quinn", "rachid", "rebecca", "rosa", "ruby", "sam", "sana", "sebastian", "simon", "sophie",
         "stella", "theo", "tina", "tomas", "uma", "victor", "vera", "will", "xavier", "yara", "yusuf", "zara"]
LAST = ["abbott", "ahmed", "andersen", "baker", "banerjee", "becker", "bianchi", "bishop", "campbell", "costa",
        "cruz", "dubois", "edwards", "evans", "ferreira", "fischer", "foster", "garcia", "greene", "hall",
        "hansen", "harris", "hughes", "ibrahim", "ito", "jackson", "johansson", "jones", "kaur", "keller",
        "kowalski", "kumar", "larsen", "lopez", "mahmoud", "meyer", "miller", "moreno", "nakamura", "nguyen",
        "nilsson", "obrien", "ortiz", "park", "perez", "petrov", "quinn", "ramirez", "reddy", "richter", "rivera",
        "romano", "santos", "sato", "schulz", "shah", "silva", "singh", "smith", "sorensen", "suzuki", "taylor",
        "thompson", "torres", "vargas", "vogel", "walker", "weber", "white", "williams", "wilson", "yamada",
        "young", "zhang"]

# Everyone the policy and its tests name. (email local part, department,
# employment, location, title, manager local part or None for the CEO,
# is_manager). Department heads report to the CEO.
KEY_PEOPLE = [
    ("olivia.hart", "product", "full_time", "San Francisco", "Chief Executive Officer", None),
    # department heads
    ("helen.zhao", "engineering", "full_time", "San Francisco", "VP Engineering", "olivia.hart"),
    ("ryan.gallagher", "sales", "full_time", "New York", "Chief Revenue Officer", "olivia.hart"),
    ("diego.alvarez", "support", "full_time", "Toronto", "VP Support", "olivia.hart"),
    ("sofia.reyes", "marketing", "full_time", "New York", "Chief Marketing Officer", "olivia.hart"),
    ("kevin.walsh", "product", "full_time", "San Francisco", "VP Product", "olivia.hart"),
    ("aisha.khan", "data", "full_time", "London", "Head of Data", "olivia.hart"),
    ("james.wright", "finance", "full_time", "New York", "Chief Financial Officer", "olivia.hart"),
    ("owen.price", "it", "full_time", "San Francisco", "Head of IT", "olivia.hart"),
    ("natalie.brown", "people", "full_time", "San Francisco", "Chief People Officer", "olivia.hart"),
    ("dana.whitfield", "design", "full_time", "Berlin", "VP Design", "olivia.hart"),
    ("maya.patel", "security", "full_time", "San Francisco", "Chief Information Security Officer", "olivia.hart"),
    ("laura.bennett", "legal", "full_time", "New York", "General Counsel", "olivia.hart"),
    # engineering
    ("bob.stone", "engineering", "full_time", "San Francisco", "Engineering Manager, Payments", "helen.zhao"),
    ("pat.kim", "engineering", "full_time", "San Francisco", "Engineering Manager, Platform", "helen.zhao"),
    ("marco.rossi", "engineering", "full_time", "London", "SRE Manager", "helen.zhao"),
    ("sara.olsen", "engineering", "full_time", "Berlin", "Engineering Manager, Mobile", "helen.zhao"),
    ("ann.lee", "engineering", "full_time", "San Francisco", "Senior Software Engineer", "bob.stone"),
    ("carl.diaz", "engineering", "contractor", "Remote (US)", "Software Engineer", "bob.stone"),
    ("raj.rao", "engineering", "full_time", "San Francisco", "Staff Engineer, Platform", "pat.kim"),
    ("elena.popov", "engineering", "full_time", "Berlin", "Principal Engineer, Platform", "pat.kim"),
    # sales
    ("sam.okafor", "sales", "full_time", "New York", "Sales Operations Manager", "ryan.gallagher"),
    ("nina.gupta", "sales", "full_time", "New York", "Sales Operations Analyst", "sam.okafor"),
    # support
    ("jasmine.park", "support", "full_time", "Toronto", "Support Manager", "diego.alvarez"),
    ("liam.murphy", "support", "full_time", "London", "Support Manager", "diego.alvarez"),
    ("zoe.adams", "support", "full_time", "Toronto", "Support Specialist", "jasmine.park"),
    # marketing
    ("chloe.martin", "marketing", "full_time", "New York", "Marketing Operations Manager", "sofia.reyes"),
    ("mark.jensen", "marketing", "full_time", "New York", "Content Marketing Manager", "chloe.martin"),
    ("ivy.chen", "marketing", "intern", "New York", "Marketing Intern", "chloe.martin"),
    # product
    ("grace.liu", "product", "full_time", "San Francisco", "Product Operations Manager", "kevin.walsh"),
    # data
    ("ben.carter", "data", "full_time", "London", "Data Governance Lead", "aisha.khan"),
    ("fatima.ali", "data", "full_time", "London", "Senior Data Analyst", "aisha.khan"),
    ("leo.martins", "data", "contractor", "Remote (US)", "Data Engineer", "ben.carter"),
    # finance
    ("rachel.cohen", "finance", "full_time", "New York", "Controller", "james.wright"),
    ("peter.novak", "finance", "full_time", "New York", "Accounts Payable Manager", "rachel.cohen"),
    ("mei.wong", "finance", "full_time", "Toronto", "Treasury Manager", "rachel.cohen"),
    ("oscar.lindqvist", "finance", "full_time", "London", "Accounts Payable Specialist", "peter.novak"),
    # it
    ("noah.kim", "it", "full_time", "San Francisco", "IT Manager, Collaboration", "owen.price"),
    ("lena.fischer", "it", "full_time", "Berlin", "Business Applications Manager", "owen.price"),
    ("priya.nair", "it", "full_time", "San Francisco", "Identity Engineering Lead", "owen.price"),
    ("tom.nash", "it", "full_time", "San Francisco", "IT Support Engineer", "noah.kim"),
    # people
    ("hannah.schmidt", "people", "full_time", "Berlin", "HRIS Manager", "natalie.brown"),
    # security
    ("ethan.brooks", "security", "full_time", "San Francisco", "Security Engineering Manager", "maya.patel"),
    ("yuki.tanaka", "security", "full_time", "San Francisco", "Security Engineer", "ethan.brooks"),
    ("omar.haddad", "security", "full_time", "London", "Security Engineer", "ethan.brooks"),
    ("lucas.moreau", "security", "full_time", "Berlin", "Security Engineer", "ethan.brooks"),
]

# Directory groups: fixed members, plus how many generated people of a
# department to add (chosen with the seeded generator).
GROUPS = {
    "it-ops": (["tom.nash", "noah.kim", "lena.fischer"], ("it", 4)),
    "it-admins": (["owen.price", "priya.nair", "noah.kim"], None),
    "security-oncall": (["ethan.brooks", "yuki.tanaka", "omar.haddad", "lucas.moreau"], None),
    "platform-leads": (["pat.kim", "raj.rao", "elena.popov"], None),
    "eng-managers": (["helen.zhao", "bob.stone", "pat.kim", "marco.rossi", "sara.olsen"], "managers:engineering"),
    "finance-approvers": (["rachel.cohen", "mei.wong", "james.wright"], None),
    "data-stewards": (["aisha.khan", "ben.carter"], None),
    "people-ops": (["natalie.brown", "hannah.schmidt"], ("people", 3)),
    "support-leads": (["diego.alvarez", "jasmine.park", "liam.murphy"], None),
}

STAFF_PER_MANAGER = 8


def weighted_location(rng):
    total = sum(w for _, w in LOCATIONS)
    pick = rng.uniform(0, total)
    for name, weight in LOCATIONS:
        pick -= weight
        if pick <= 0:
            return name
    return LOCATIONS[-1][0]


def employment(rng):
    roll = rng.random()
    if roll < 0.82:
        return "full_time"
    if roll < 0.94:
        return "contractor"
    return "intern"


def display_name(local):
    return " ".join(part.capitalize() for part in local.split("."))


def build():
    rng = random.Random(SEED)
    used = set()
    people = []  # dicts, in tree order
    by_local = {}

    def add(local, department, emp, location, title, manager):
        assert local not in used, local
        used.add(local)
        person = {
            "email": f"{local}@{DOMAIN}",
            "name": display_name(local),
            "manager": f"{manager}@{DOMAIN}" if manager else None,
            "department": department,
            "employment": emp,
            "location": location,
            "title": title,
        }
        people.append(person)
        by_local[local] = person
        return local

    def fresh_local():
        while True:
            local = f"{rng.choice(FIRST)}.{rng.choice(LAST)}"
            if local not in used:
                return local

    for local, dept, emp, loc, title, manager in KEY_PEOPLE:
        add(local, dept, emp, loc, title, manager)

    head = {dept: local for local, dept, _, _, _, mgr in KEY_PEOPLE if mgr == "olivia.hart"}
    generated_by_dept = {dept: [] for dept, _ in DEPARTMENTS}
    managers_by_dept = {dept: [] for dept, _ in DEPARTMENTS}

    for dept, size in DEPARTMENTS:
        members = [p for p in people if p["department"] == dept and p["email"] != "olivia.hart@acme.com"]
        # Named managers: key people below the head who manage others or
        # whose title says they lead a team.
        reports_to = {p["manager"].split("@")[0] for p in members if p["manager"]}
        managers = [p["email"].split("@")[0] for p in members
                    if p["email"].split("@")[0] != head[dept]
                    and (p["email"].split("@")[0] in reports_to
                         or any(word in p["title"] for word in ("Manager", "Lead", "Controller")))]
        remaining = size - len(members)
        # Enough managers for about STAFF_PER_MANAGER reports each.
        wanted = max(1, (size - 1) // (STAFF_PER_MANAGER + 1))
        while len(managers) < wanted and remaining > 0:
            local = add(fresh_local(), dept, "full_time", weighted_location(rng), MANAGER_TITLE[dept], head[dept])
            managers.append(local)
            generated_by_dept[dept].append(local)
            remaining -= 1
        managers_by_dept[dept] = managers
        # Staff, spread round-robin over managers (or the head in small teams).
        bosses = managers or [head[dept]]
        i = 0
        while remaining > 0:
            emp = employment(rng)
            title = rng.choice(STAFF_TITLES[dept])
            if emp == "intern":
                title = f"{dept.capitalize()} Intern" if dept != "it" else "IT Intern"
            local = add(fresh_local(), dept, emp, weighted_location(rng), title, bosses[i % len(bosses)])
            if emp == "full_time":
                generated_by_dept[dept].append(local)
            i += 1
            remaining -= 1

    assert len(people) == TOTAL, len(people)

    groups = {}
    for name, (fixed, extra) in GROUPS.items():
        members = list(fixed)
        if extra == "managers:engineering":
            members += [m for m in managers_by_dept["engineering"] if m not in members]
        elif extra:
            dept, count = extra
            pool = [p for p in generated_by_dept[dept]
                    if p not in members and not by_local[p]["title"].endswith("Manager")]
            members += rng.sample(pool, count)
        groups[name] = sorted(f"{m}@{DOMAIN}" for m in members)

    return {"people": people, "groups": groups}


def render(directory):
    # One person per line: small diffs, easy to grep.
    lines = ["{", '  "people": [']
    for i, person in enumerate(directory["people"]):
        comma = "," if i + 1 < len(directory["people"]) else ""
        lines.append("    " + json.dumps(person, ensure_ascii=False) + comma)
    lines.append("  ],")
    lines.append('  "groups": {')
    names = sorted(directory["groups"])
    for i, name in enumerate(names):
        comma = "," if i + 1 < len(names) else ""
        lines.append(f"    {json.dumps(name)}: {json.dumps(directory['groups'][name])}{comma}")
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def validate(directory):
    emails = {p["email"] for p in directory["people"]}
    assert len(emails) == len(directory["people"]), "duplicate email"
    roots = [p for p in directory["people"] if p["manager"] is None]
    assert len(roots) == 1, "exactly one person (the CEO) has no manager"
    by_email = {p["email"]: p for p in directory["people"]}
    for person in directory["people"]:
        seen = set()
        cur = person
        while cur["manager"] is not None:
            assert cur["manager"] in by_email, f"{cur['email']}: unknown manager {cur['manager']}"
            assert cur["email"] not in seen, f"management cycle at {cur['email']}"
            seen.add(cur["email"])
            cur = by_email[cur["manager"]]
    for name, members in directory["groups"].items():
        for member in members:
            assert member in emails, f"group {name}: unknown member {member}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is not up to date")
    parser.add_argument("--output", default=OUT)
    args = parser.parse_args()
    directory = build()
    validate(directory)
    text = render(directory)
    if args.check:
        try:
            with open(args.output, encoding="utf-8") as f:
                current = f.read()
        except OSError:
            current = None
        if current != text:
            print(f"{args.output} is stale: run {sys.argv[0]}", file=sys.stderr)
            return 1
        return 0
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {len(directory['people'])} people and {len(directory['groups'])} groups to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
