#!/usr/bin/env python3
"""Changes a fraction of a graph-sim tenant's users and memberships, for benchmarks.

    churn.py SIM_URL TENANT_ID SEED FRACTION STATE_FILE

The first call reads the tenant's truth (live users, live groups, memberships) into STATE_FILE; every
call then renames FRACTION of the users (jobTitle) and changes FRACTION of the memberships (half
removed, half added between live users and groups), keeps STATE_FILE current, and prints
"<users changed> <memberships changed>".
"""
import json
import os
import random
import sys
import urllib.request

sim, tenant, seed, fraction, state_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(sim + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.load(response)


if os.path.exists(state_file):
    state = json.load(open(state_file))
else:
    truth = call("GET", f"/_graphsim/tenants/{tenant}/truth")
    state = {
        "users": [u["id"] for u in truth["users"] if u.get("deleted") is None],
        "groups": [g["id"] for g in truth["groups"] if g.get("deleted") is None],
        "members": [[m["groupId"], m["memberId"]] for m in truth["memberships"] if m["memberType"] == "user"],
    }
    del truth

rng = random.Random(seed)
users, groups, members = state["users"], state["groups"], state["members"]
changed_users = rng.sample(users, max(1, int(len(users) * fraction)))
operations = [{"op": "updateUser", "id": u, "set": {"jobTitle": f"Churn {seed} {i}"}} for i, u in enumerate(changed_users)]

membership_changes = max(2, int(len(members) * fraction))
existing = {tuple(m) for m in members}
removed = set()
for index in rng.sample(range(len(members)), membership_changes // 2):
    group, member = members[index]
    operations.append({"op": "removeMember", "groupId": group, "memberId": member})
    removed.add((group, member))
added = []
while len(added) < membership_changes - len(removed):
    pair = (rng.choice(groups), rng.choice(users))
    if pair not in existing and pair not in removed:
        existing.add(pair)
        added.append(pair)
        operations.append({"op": "addMember", "groupId": pair[0], "memberId": pair[1], "memberType": "user"})

for start in range(0, len(operations), 5000):
    call("POST", f"/_graphsim/tenants/{tenant}/mutations", {"operations": operations[start:start + 5000]})

state["members"] = [m for m in members if tuple(m) not in removed] + [list(p) for p in added]
json.dump(state, open(state_file, "w"))
print(len(changed_users), len(removed) + len(added))
