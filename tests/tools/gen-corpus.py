#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generate a synthetic but realistic unpacked application export for appkg tests and benchmarks.

The output directory has the layout appkg-pack reads: manifest.json with a name and a
description, resources/<type>/<name>.json for the types pages, queries, datasources, flows,
environments and variables, and (unless --no-secrets) a secrets.json of about one secret per ten
resources. Each resource is one JSON object of plausible content -- widget trees bound to queries
for pages, SQL or REST definitions that name a generated datasource for queries, connection
settings whose credentials are "{{ secrets.NAME }}" references for datasources, step lists for
flows, value maps for environments -- grown until its file is near a size drawn around
--avg-size, so sizes spread the way real exports do. With --names unicode the names mix spaces,
accented Latin, Greek, Cyrillic, CJK, Hangul and punctuation such as & ( ) ' , +, and now and then
a character a file name cannot hold ("/", ":", "?", "%", "|"), which is written as %XX escapes
of its UTF-8 bytes exactly as the appkg format requires. Names are NFC, at most 150 UTF-8 bytes,
never start with "." or end with "." or a space, hold no control characters, and are unique per
type ignoring case (Unicode case folding). Everything comes from one random.Random(--seed), so a
given command line always writes the same bytes. Python 3 standard library only.
"""

import argparse
import json
import math
import os
import random
import string
import sys
import unicodedata

TYPES = ("pages", "queries", "datasources", "flows", "environments", "variables")
# Share of the resources each type gets in a typical export.
WEIGHTS = {"pages": 0.20, "queries": 0.34, "datasources": 0.06, "flows": 0.14,
           "environments": 0.04, "variables": 0.22}

MAX_NAME_BYTES = 150          # logical name, UTF-8
MAX_FILE_NAME_BYTES = 200     # escaped form, the limit libappkg enforces
ESCAPED_ASCII = set('%/\\:*?"<>|')

# ---------------------------------------------------------------- vocabulary

PLAIN_WORDS = {
    "pages": ["dashboard", "orders", "customers", "invoices", "settings", "users", "reports",
              "inventory", "tickets", "audit-log", "billing", "leads", "shipments", "refunds",
              "onboarding", "warehouse", "products", "returns", "approvals", "analytics"],
    "queries": ["list", "get", "search", "update", "delete", "create", "count", "sum", "sync",
                "export", "archive", "fetch", "upsert", "lookup"],
    "datasources": ["postgres", "mysql", "billing-api", "crm-api", "warehouse", "redis-cache",
                    "analytics-db", "stripe", "hubspot", "s3-exports", "graphql-gateway"],
    "flows": ["nightly", "hourly", "on-signup", "on-refund", "weekly", "escalate", "notify",
              "reconcile", "cleanup", "import", "digest", "retry"],
    "environments": ["production", "staging", "development", "qa", "sandbox", "preview",
                     "perf", "demo", "eu-west", "us-east"],
    "variables": ["page-size", "currency", "timezone", "feature-flag", "theme", "locale",
                  "max-rows", "support-email", "retention-days", "default-region"],
}
PLAIN_NOUNS = ["orders", "customers", "invoices", "users", "accounts", "products", "tickets",
               "payments", "refunds", "sessions", "events", "teams", "regions", "contracts",
               "shipments", "leads", "notes", "tags", "plans", "coupons"]

# Unicode fragments, written NFC. Some double as realistic names on their own.
UNICODE_FRAGMENTS = [
    "Kundenübersicht", "Rechnungsprüfung", "Bestellungen", "Straße", "Zürich", "Übersicht",
    "Café", "Crème brûlée", "Año fiscal", "Informe de ventas", "Réservations", "Économie",
    "Smørrebrød", "Łódź", "São Paulo", "Ångström", "Ελληνικά", "Παραγγελίες", "Клиенты",
    "Отчёт о продажах", "Счета", "顧客一覧", "請求書", "売上レポート", "注文管理", "在庫",
    "用户列表", "订单", "数据看板", "사용자 목록", "주문 내역", "設定", "Ürün listesi",
    "Faktúry", "Příjemky", "Nábytek", "Jalapeño", "naïve search", "Façade", "Œuvres",
]
ENGLISH_FRAGMENTS = [
    "Sales", "Marketing", "Orders", "Customers", "Invoices", "Support", "Admin", "Reports",
    "Inventory", "Billing", "Onboarding", "Refunds", "Shipping", "Leads", "Accounts", "Payroll",
    "Team", "Overview", "Detail", "Archive", "Pipeline", "Renewals", "Audit", "Metrics",
]
PUNCT_NAMES = [
    "{a} & {b}", "{a} ({b})", "{a}'s {b}", "{a}, {b}", "{a} + {b}", "{a} - {b}", "{a} {b}",
    "{a} – {b}", "{a} (old)", "{a} v{n}", "{a} #{n}", "{a} [{b}]", "Q{q} {a}", "{a} {n}.0",
    "{a}’s view", "R&D {a}", "{a} @ {b}",
]
# Names that need %XX escapes in their file name: "/", ":", "?", "%", "|", "*".
ESCAPE_NAMES = [
    "get/{lower}", "{a}/{b}", "{a}: {b}", "{a}: Q{q}", "{n}% rollout", "What's new in {a}?",
    "{a} | {b}", "{lower}/by-id", "v{n}: {a}", "{a} *draft*", "A/B test {n}",
]
EMOJI = ["🚀", "📊", "✅", "🔒", "⭐"]

SQL_TABLES = ["orders", "customers", "invoices", "payments", "products", "order_items",
              "users", "accounts", "subscriptions", "tickets", "events", "shipments", "refunds"]
SQL_COLUMNS = ["id", "created_at", "updated_at", "status", "amount_cents", "currency", "email",
               "display_name", "country_code", "region", "owner_id", "plan", "due_date",
               "quantity", "sku", "priority", "assignee_id", "closed_at", "notes", "source"]
WIDGETS_LEAF = ["text", "heading", "badge", "stat", "image", "divider", "link", "markdown"]
FIELD_WIDGETS = ["text_input", "number_input", "select", "date_picker", "checkbox", "textarea",
                 "user_picker", "switch"]
STEP_ACTIONS = ["run_query", "send_email", "http_request", "filter", "transform", "wait",
                "branch", "notify", "set_variable"]

# ---------------------------------------------------------------- names


def escape_name(name):
    """File-name form of a logical name: %XX for every byte of a character files cannot hold."""
    out = []
    last = len(name) - 1
    for i, ch in enumerate(name):
        code = ord(ch)
        must = (code < 0x20 or code == 0x7F or 0x80 <= code <= 0x9F or ch in ESCAPED_ASCII
                or code in (0x200E, 0x200F) or 0x202A <= code <= 0x202E
                or 0x2066 <= code <= 0x2069
                or (i == 0 and ch == ".") or (i == last and ch in ". "))
        if must:
            out.append("".join("%%%02X" % b for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "".join(out)


def fold_key(name):
    """The key two names must not share: NFC, Unicode case folding, NFC again."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def clean_name(name):
    """Apply the hard rules: NFC, no control characters, length, no leading '.', no trailing
    '.' or space. Returns '' when nothing usable is left."""
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cc")
    name = " ".join(name.split())
    while len(name.encode("utf-8")) > MAX_NAME_BYTES:
        name = name[:-1]
    name = name.lstrip(". ").rstrip(". ")
    # Trimming can leave a string whose NFC form differs (a dangling combining mark).
    name = unicodedata.normalize("NFC", name)
    return name


def name_ok(name):
    raw = name.encode("utf-8")
    return (0 < len(raw) <= MAX_NAME_BYTES
            and unicodedata.normalize("NFC", name) == name
            and not name.startswith(".") and not name.endswith((".", " "))
            and not any(unicodedata.category(ch) == "Cc" for ch in name)
            and len(escape_name(name).encode("utf-8")) + len(".json") <= MAX_FILE_NAME_BYTES
            and name not in (".", ".."))


class Namer:
    """Hands out names for one type, unique ignoring case."""

    def __init__(self, rng, style, rtype):
        self.rng, self.style, self.rtype = rng, style, rtype
        self.seen = set()
        self.counter = 2

    def _plain(self):
        r = self.rng
        words = PLAIN_WORDS[self.rtype]
        shape = r.random()
        if self.rtype == "queries":
            base = "%s_%s" % (r.choice(words), r.choice(PLAIN_NOUNS))
            if shape < 0.4:
                base += "_by_%s" % r.choice(["id", "status", "owner", "date", "region", "email"])
        elif shape < 0.5:
            base = r.choice(words)
        elif shape < 0.8:
            base = "%s-%s" % (r.choice(words), r.choice(PLAIN_NOUNS))
        else:
            base = "%s_%d" % (r.choice(words), r.randint(2, 99))
        return base

    def _fill(self, template):
        r = self.rng
        a = r.choice(UNICODE_FRAGMENTS + ENGLISH_FRAGMENTS)
        b = r.choice(UNICODE_FRAGMENTS + ENGLISH_FRAGMENTS)
        return template.format(a=a, b=b, n=r.randint(2, 40), q=r.randint(1, 4),
                               lower=r.choice(PLAIN_NOUNS))

    def _unicode(self):
        r = self.rng
        x = r.random()
        if x < 0.06:
            return self._fill(r.choice(ESCAPE_NAMES))
        if x < 0.08:  # a long name, to exercise the byte limit
            parts = [r.choice(UNICODE_FRAGMENTS) for _ in range(r.randint(6, 14))]
            return " ".join(parts)
        if x < 0.11:
            return "%s %s" % (r.choice(EMOJI), r.choice(ENGLISH_FRAGMENTS + UNICODE_FRAGMENTS))
        if x < 0.14:  # decomposed input: the generator must hand out the NFC form
            return unicodedata.normalize("NFD", r.choice(UNICODE_FRAGMENTS))
        if x < 0.45:
            return self._fill(r.choice(PUNCT_NAMES))
        if x < 0.75:
            return r.choice(UNICODE_FRAGMENTS)
        if x < 0.90:
            return "%s %s" % (r.choice(ENGLISH_FRAGMENTS), r.choice(UNICODE_FRAGMENTS))
        return self._plain().replace("-", " ").replace("_", " ").title()

    def next(self):
        for attempt in range(200):
            raw = self._unicode() if self.style == "unicode" else self._plain()
            if attempt >= 4:  # keep the flavour, make it unique with a numbered suffix
                sep = " " if self.style == "unicode" else "-"
                raw = "%s%s%d" % (raw, sep, self.counter)
                self.counter += 1
            name = clean_name(raw)
            if not name_ok(name):
                continue
            key = fold_key(name)
            if key in self.seen:
                continue
            self.seen.add(key)
            return name
        raise RuntimeError("could not find a unique %s name" % self.rtype)


# ---------------------------------------------------------------- content


def dumps(obj):
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def ident(rng, n=6):
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def label_for(rng, style):
    if style == "unicode" and rng.random() < 0.4:
        return rng.choice(UNICODE_FRAGMENTS)
    return rng.choice(ENGLISH_FRAGMENTS) + " " + rng.choice(PLAIN_NOUNS)


class Corpus:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.names = {t: [] for t in TYPES}
        self.secrets = []

    # ---- shared helpers

    def ref_query(self):
        q = self.names["queries"]
        return self.rng.choice(q) if q else "unknown_query"

    def ref_datasource(self):
        d = self.names["datasources"]
        return self.rng.choice(d) if d else "default"

    def ref_variable(self):
        v = self.names["variables"]
        return self.rng.choice(v) if v else "page_size"

    def secret_ref(self):
        if self.secrets:
            return "{{ secrets.%s }}" % self.rng.choice(self.secrets)
        return "{{ env.%s }}" % self.rng.choice(["DB_PASSWORD", "API_TOKEN", "SERVICE_KEY"])

    def qexpr(self, query, tail="data"):
        # queries['name'] works for any name; JSON escaping handles quotes in it.
        return "{{ queries[%s].%s }}" % (json.dumps(query, ensure_ascii=False), tail)

    # ---- pages: a widget tree

    def widget(self):
        """One leaf widget: a table or chart bound to a query, a form or button that runs
        one, or a piece of static content."""
        r = self.rng
        kind = r.random()
        wid = "%s_%s" % (r.choice(["w", "panel", "box", "cell"]), ident(r))
        if kind < 0.3:
            query = self.ref_query()
            cols = r.sample(SQL_COLUMNS, r.randint(3, 7))
            return {"id": wid, "widget": "table", "data": self.qexpr(query),
                    "page_size": "{{ variables[%s] }}" % json.dumps(self.ref_variable(),
                                                                   ensure_ascii=False),
                    "columns": [{"key": c, "label": c.replace("_", " ").capitalize(),
                                 "sortable": r.random() < 0.5} for c in cols],
                    "on_row_click": {"action": "set_variable", "name": "selected_id",
                                     "value": "{{ row.id }}"}}
        if kind < 0.45:
            query = self.ref_query()
            fields = [{"id": "f_" + c, "widget": r.choice(FIELD_WIDGETS),
                       "label": c.replace("_", " ").capitalize(), "required": r.random() < 0.3}
                      for c in r.sample(SQL_COLUMNS, r.randint(2, 5))]
            return {"id": wid, "widget": "form", "fields": fields,
                    "submit": {"id": "btn_" + ident(r), "widget": "button",
                               "label": r.choice(["Save", "Submit", "Apply", "Speichern"]),
                               "on_click": {"action": "run_query", "query": query,
                                            "inputs": {f["id"][2:]: "{{ form.%s }}" % f["id"]
                                                       for f in fields}}}}
        if kind < 0.62:
            return {"id": wid, "widget": "button", "label": label_for(r, self.args.names),
                    "style": r.choice(["primary", "secondary", "danger", "link"]),
                    "on_click": [{"action": "run_query", "query": self.ref_query()},
                                 {"action": "notify", "text": "Done", "tone": "success"}]}
        if kind < 0.72:
            return {"id": wid, "widget": "chart", "chart": r.choice(["line", "bar", "pie"]),
                    "data": self.qexpr(self.ref_query()), "x": r.choice(SQL_COLUMNS),
                    "y": r.choice(["amount_cents", "quantity", "count"])}
        return {"id": wid, "widget": r.choice(WIDGETS_LEAF),
                "text": label_for(r, self.args.names),
                "visible": "{{ %s }}" % r.choice(["true", "user.is_admin",
                                                  "variables.selected_id != null"])}

    def page(self, name, target):
        r = self.rng
        root = {"id": "layout", "widget": "column", "gap": r.choice([8, 12, 16]), "children": []}
        doc = {"title": name, "route": "/" + ident(r, 8),
               "access": r.sample(["admins", "agents", "finance", "support", "viewers"],
                                  r.randint(1, 3)),
               "on_load": [{"action": "run_query", "query": self.ref_query()}],
               "root": root}
        containers = [(root, 0)]  # (widget, depth) that can take children

        def more():
            parent, depth = r.choice(containers)
            if depth < 8 and r.random() < 0.25:  # open a new section, nesting the tree
                box = {"id": "%s_%s" % (r.choice(["section", "tab", "card"]), ident(r)),
                       "widget": r.choice(["column", "row", "card", "tab"]),
                       "label": label_for(r, self.args.names), "children": []}
                parent["children"].append(box)
                containers.append((box, depth + 1))
                parent = box
            parent["children"].append(self.widget())

        self.grow(doc, target, more)
        return doc

    # ---- queries: SQL or REST against a datasource

    def sql(self):
        r = self.rng
        table = r.choice(SQL_TABLES)
        cols = ", ".join("t.%s" % c for c in r.sample(SQL_COLUMNS, r.randint(3, 8)))
        joins = "".join("\nLEFT JOIN %s j%d ON j%d.id = t.%s_id" % (r.choice(SQL_TABLES), i, i,
                                                                     r.choice(["owner", "account",
                                                                               "customer"]))
                        for i in range(r.randint(0, 2)))
        where = " AND ".join("t.%s = {{ inputs.%s }}" % (c, c)
                             for c in r.sample(SQL_COLUMNS, r.randint(1, 3)))
        return ("SELECT %s\nFROM %s t%s\nWHERE %s\nORDER BY t.%s DESC\nLIMIT {{ inputs.limit }};"
                % (cols, table, joins, where, r.choice(["created_at", "updated_at", "id"])))

    def query(self, name, target):
        r = self.rng
        if r.random() < 0.7:
            doc = {"datasource": self.ref_datasource(), "kind": "sql", "sql": self.sql(),
                   "parameters": {"limit": {"type": "integer", "default": 100}},
                   "run": r.choice(["on_page_load", "manual", "on_input_change"]),
                   "timeout_ms": r.choice([5000, 10000, 30000])}
            def more():
                if r.random() < 0.5:
                    doc["sql"] += "\nUNION ALL\n" + self.sql()
                doc["parameters"]["p_" + ident(r, 5)] = {
                    "type": r.choice(["string", "integer", "uuid", "date", "boolean"]),
                    "required": r.random() < 0.4}
        else:
            doc = {"datasource": self.ref_datasource(), "kind": "rest",
                   "request": {"method": r.choice(["GET", "GET", "POST", "PATCH"]),
                               "path": "/%s/{{ inputs.id }}" % r.choice(PLAIN_NOUNS),
                               "query": {}, "headers": {"Accept": "application/json"}},
                   "result_path": "$.data", "run": "manual"}
            def more():
                doc["request"]["query"]["%s_%s" % (r.choice(SQL_COLUMNS), ident(r, 3))] = (
                    "{{ inputs.%s }}" % r.choice(SQL_COLUMNS))
        doc["description"] = "%s for the %s screen" % (name, label_for(r, self.args.names))
        self.grow(doc, target, more)
        return doc

    # ---- datasources: connection settings with secret references

    def datasource(self, name, target):
        r = self.rng
        kind = r.choice(["postgresql", "postgresql", "mysql", "rest", "graphql"])
        if kind in ("postgresql", "mysql"):
            doc = {"kind": kind, "connection": {
                "host": "%s.db.internal.example.com" % ident(r, 5),
                "port": 5432 if kind == "postgresql" else 3306,
                "database": r.choice(PLAIN_NOUNS), "user": "app_" + ident(r, 4),
                "password": self.secret_ref(), "ssl": {"mode": "verify-full"}},
                "pool": {"max_connections": r.randint(2, 32)}, "allowed_schemas": []}
            grow_list = doc["allowed_schemas"]
            def more():
                grow_list.append("%s_%s" % (r.choice(PLAIN_NOUNS), ident(r, 4)))
        else:
            doc = {"kind": kind, "base_url": "https://%s.api.example.com/v%d" % (
                ident(r, 5), r.randint(1, 3)),
                "auth": {"type": "bearer", "token": self.secret_ref()},
                "headers": {"Accept": "application/json"}, "timeout_ms": r.randint(2, 30) * 1000}
            def more():
                doc["headers"]["X-%s-%s" % (r.choice(ENGLISH_FRAGMENTS), ident(r, 3))] = (
                    self.secret_ref() if r.random() < 0.2 else ident(r, 12))
        doc["label"] = name
        self.grow(doc, target, more)
        return doc

    # ---- flows: triggers and steps

    def step(self, i):
        r = self.rng
        action = r.choice(STEP_ACTIONS)
        step = {"id": "step_%d" % i, "action": action}
        if action == "run_query":
            step["query"] = self.ref_query()
            step["inputs"] = {c: "{{ steps.step_%d.data.%s }}" % (max(i - 1, 0), c)
                              for c in r.sample(SQL_COLUMNS, r.randint(1, 3))}
        elif action == "send_email":
            step.update({"to": "{{ item.email }}", "subject": label_for(r, self.args.names),
                         "template": ident(r, 8),
                         "smtp_password": self.secret_ref()})
        elif action == "http_request":
            step.update({"method": "POST", "url": "https://hooks.example.com/" + ident(r, 10),
                         "body": {"text": label_for(r, self.args.names)}})
        elif action == "branch":
            step.update({"if": "{{ steps.step_%d.data.length > %d }}" % (max(i - 1, 0),
                                                                          r.randint(0, 50)),
                         "then": "step_%d" % (i + 1), "else": "end"})
        else:
            step["expression"] = "{{ %s }}" % r.choice(["item.amount_cents / 100",
                                                       "data.filter(x => x.status === 'open')",
                                                       "Date.now()", "variables.page_size * 2"])
        return step

    def flow(self, name, target):
        r = self.rng
        trig = r.choice(["schedule", "webhook", "manual"])
        trigger = {"type": trig}
        if trig == "schedule":
            trigger.update({"cron": "%d %d * * *" % (r.randint(0, 59), r.randint(0, 23)),
                            "timezone": r.choice(["UTC", "Europe/Berlin", "Asia/Tokyo"])})
        doc = {"description": "Flow %s" % name, "enabled": r.random() < 0.8,
               "trigger": trigger, "steps": []}
        steps = doc["steps"]
        self.grow(doc, target, lambda: steps.append(self.step(len(steps))))
        return doc

    # ---- environments and variables

    def environment(self, name, target):
        r = self.rng
        doc = {"label": name, "protected": r.random() < 0.3, "values": {
            "API_BASE": "https://%s.example.com/api" % ident(r, 6),
            "DB_HOST": "%s.db.internal.example.com" % ident(r, 5)}}
        values = doc["values"]
        def more():
            values["%s_%s" % (r.choice(PLAIN_NOUNS).upper(), ident(r, 4).upper())] = (
                r.choice(["true", "false", str(r.randint(1, 9999)), "https://" + ident(r, 8)
                          + ".example.com", label_for(r, self.args.names)]))
        self.grow(doc, target, more)
        return doc

    def variable(self, name, target):
        r = self.rng
        kind = r.choice(["string", "integer", "boolean", "array"])
        default = {"string": label_for(r, self.args.names), "integer": r.randint(1, 500),
                   "boolean": r.random() < 0.5, "array": []}[kind]
        doc = {"type": kind, "description": "%s (%s)" % (name, kind), "default": default,
               "scope": r.choice(["app", "user", "page"])}
        if kind == "array":
            def more():
                default.append({"value": ident(r, 5), "label": label_for(r, self.args.names)})
        else:
            doc["allowed"] = []
            def more():
                doc["allowed"].append(default if kind != "integer" else r.randint(1, 500))
        self.grow(doc, target, more)
        return doc

    # ---- sizing

    def grow(self, doc, target, more):
        """Call more() until the serialised doc is about target bytes. After a few single
        calls have measured the average growth per call, pieces are added in batches while the
        target is far (re-measuring after each batch), and one at a time near it; the loop
        stops on whichever side of the target is closer, so sizes average out near the mean."""
        start = size = len(dumps(doc).encode("utf-8"))
        calls = 0
        while size < target:
            step = (size - start) / calls if calls else 0.0
            if step and size + step / 2 >= target:
                break
            batch = 1
            if calls >= 8 and target - size > 8 * step:
                batch = int((target - size) / step / 3)
            for _ in range(batch):
                more()
            calls += batch
            size = len(dumps(doc).encode("utf-8"))

    def target_size(self):
        avg, sigma = self.args.avg_size, 0.6
        mu = math.log(avg) - sigma * sigma / 2  # lognormal with this mean
        return int(min(max(self.rng.lognormvariate(mu, sigma), 64), avg * 10))

    # ---- the whole tree

    def counts(self):
        n = self.args.resources
        raw = {t: n * WEIGHTS[t] for t in TYPES}
        got = {t: int(raw[t]) for t in TYPES}
        if n >= len(TYPES):
            for t in TYPES:
                got[t] = max(got[t], 1)
        rest = n - sum(got.values())
        order = sorted(TYPES, key=lambda t: (raw[t] - int(raw[t]), WEIGHTS[t]), reverse=True)
        i = 0
        while rest > 0:
            got[order[i % len(order)]] += 1
            rest -= 1
            i += 1
        while rest < 0:  # minimums pushed us over: take from the biggest
            big = max(TYPES, key=lambda t: got[t])
            got[big] -= 1
            rest += 1
        return got

    def write(self, out):
        r = self.rng
        counts = self.counts()
        if not self.args.no_secrets:
            want = max(1, round(self.args.resources / 10))
            seen = set()
            while len(self.secrets) < want:
                s = "%s_%s" % (r.choice(PLAIN_NOUNS).upper(),
                               r.choice(["PASSWORD", "API_KEY", "TOKEN", "SECRET",
                                         "WEBHOOK_URL", "PRIVATE_KEY"]))
                if s in seen:
                    s += "_%d" % (len(self.secrets) + 1)
                if s not in seen:
                    seen.add(s)
                    self.secrets.append(s)
        for t in TYPES:
            namer = Namer(r, self.args.names, t)
            self.names[t] = [namer.next() for _ in range(counts[t])]
        makers = {"pages": self.page, "queries": self.query, "datasources": self.datasource,
                  "flows": self.flow, "environments": self.environment,
                  "variables": self.variable}
        # Every name exists before any content is made, so references can point anywhere.
        for t in TYPES:
            if not self.names[t]:
                continue
            tdir = os.path.join(out, "resources", t)
            os.makedirs(tdir, exist_ok=True)
            for name in self.names[t]:
                doc = makers[t](name, self.target_size())
                path = os.path.join(tdir, escape_name(name) + ".json")
                with open(path, "w", encoding="utf-8", newline="\n") as f:
                    f.write(dumps(doc))
        app = "%s-%s" % (r.choice(["crm", "ops", "billing", "support", "inventory", "hr"]),
                         r.choice(["console", "admin", "portal", "tools", "hub"]))
        manifest = {"name": app,
                    "description": "Synthetic %s export: %d resources, average %d bytes, "
                                   "%s names, seed %s (tests/tools/gen-corpus.py)."
                                   % (app, self.args.resources, self.args.avg_size,
                                      self.args.names, self.args.seed)}
        with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8", newline="\n") as f:
            f.write(dumps(manifest))
        if self.secrets:
            alphabet = string.ascii_letters + string.digits + "-_.~!@#$^*+="
            values = {s: "".join(r.choice(alphabet) for _ in range(r.randint(16, 48)))
                      for s in self.secrets}
            with open(os.path.join(out, "secrets.json"), "w", encoding="utf-8",
                      newline="\n") as f:
                f.write(dumps(values))


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Write a synthetic unpacked appkg application directory.")
    p.add_argument("--resources", type=int, default=100, metavar="N",
                   help="number of resources (default 100)")
    p.add_argument("--avg-size", type=int, default=2048, metavar="BYTES",
                   help="average resource file size in bytes (default 2048); every type "
                        "has a floor of a few hundred bytes, so very small values overshoot")
    p.add_argument("--seed", default="1", metavar="S",
                   help="random seed; same seed, same output (default 1)")
    p.add_argument("--names", choices=("plain", "unicode"), default="plain",
                   help="plain ASCII names, or unicode names with spaces, accents, CJK, "
                        "punctuation and the odd escaped character (default plain)")
    p.add_argument("--no-secrets", action="store_true", help="do not write secrets.json")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="directory to create (must be absent or empty)")
    args = p.parse_args(argv)
    if args.resources < 0:
        p.error("--resources must be 0 or more")
    if args.avg_size < 64:
        p.error("--avg-size must be at least 64")
    if os.path.exists(args.out) and (not os.path.isdir(args.out) or os.listdir(args.out)):
        p.error("--out %s exists and is not an empty directory" % args.out)
    os.makedirs(args.out, exist_ok=True)
    Corpus(args).write(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
