"""Search for agents (and customers, over their own tickets): exact lookups, then full text.

Exact lookups come first: a case number (with or without ``KF-`` and dashes), a customer's
email or phone number, a transaction hash or an order number find their tickets through
ordinary B-tree indexes. Anything else is a full-text search over titles and every message.

The full-text index
-------------------
Each ticket has a :class:`~kefu.tickets.models.TicketSearch` row of *terms*, written inside the
transaction of the action that changed the text (subscribers of ``TicketCreated``,
``MessageAdded`` and ``TicketMerged`` below). Text is normalised and segmented once, in Python,
with the help centre's analysis (:mod:`kefu.helpcenter.analysis`: NFKC, traditional →
simplified, lower case, a light English stemmer, jieba): Latin words become stems, Chinese runs
become character bigrams (a query's bigrams all present ≈ the phrase occurs, whatever jieba
would make of its context) plus jieba's longer words. The database indexes those terms with its
own engine — SQLite FTS5 on the embedded default, a GIN index over ``to_tsvector('simple', ...)``
on PostgreSQL — so no search server is needed. Internal notes are a column of their own: a
customer's query only looks at titles and public messages.

Results are ranked (BM25 on SQLite, ``ts_rank`` on PostgreSQL; the title counts most) and paged
by a keyset on (rank, id), so "next page" stays one query. Highlights are built in Python from
the real text of the page's tickets, every piece escaped.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from kefu import events, rowlookup
from kefu.accounts.models import Team, User, canonical_email
from kefu.helpcenter import analysis
from kefu.tickets import selectors
from kefu.tickets.models import (
    ACTIVE_Q,
    Message,
    MessageKind,
    Ticket,
    TicketSearch,
)

# A column keeps at most this many characters of terms: PostgreSQL refuses a tsvector over
# 1 MB, and the first hundred thousand characters of a thread say what it is about.
MAX_TERMS_CHARS = 100_000
# A query is a few words; a pasted thread would make every page scan many index lists.
MAX_QUERY_CHARS = 200
MAX_QUERY_TERMS = 32
SNIPPET_CHARS = 160
# Column weights of SQLite's bm25(): title, public messages, internal notes.
BM25_WEIGHTS = (4.0, 1.0, 1.0)
# Above this many matching tickets, results come newest first instead of ranked (see
# _full_text_page); a module constant so that tests can lower it.
RANK_LIMIT = 3000
# Newest-first pages on PostgreSQL look through the newest blocks of this many ticket ids first.
BUCKET_SIZE = 10_000
BUCKET_PREFIX = "zzkfb"
# ... after walking this many of the newest ids one by one.
WALK_IDS = 400

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(rf"[{_CJK}]+")
# What the index may hold: Latin letters and digits, or Chinese characters. Anything else is
# dropped before a term reaches FTS5's or tsquery's syntax.
_SAFE_TERM = re.compile(rf"[a-z0-9]+|[{_CJK}]+")


# --- terms ---------------------------------------------------------------------------------


def _cjk_terms(runs: list[str], *, words: bool) -> list[str]:
    """Bigrams of each Chinese run (a lone character stands for itself) and, with ``words``,
    jieba's words of three characters or more (two-character words are bigrams already)."""
    terms: list[str] = []
    for run in runs:
        if len(run) == 1:
            terms.append(run)
        else:
            terms.extend(run[i : i + 2] for i in range(len(run) - 1))
    if words and runs:
        tokenizer = analysis._jieba()  # the help centre's tokenizer: one segmentation for both
        terms.extend(word for word in tokenizer.cut_for_search(" ".join(runs)) if len(word) > 2)
    return terms


def terms_of(text: str) -> list[str]:
    """Index terms of ``text``, in order (repeats kept: they count for ranking)."""
    normalised = analysis.normalize(text)
    terms = analysis._latin_terms(normalised)
    terms.extend(_cjk_terms(_CJK_RUN.findall(normalised), words=True))
    return [term for term in terms if _SAFE_TERM.fullmatch(term)]


def _joined(terms: Iterable[str], *, limit: int = MAX_TERMS_CHARS) -> str:
    out = " ".join(terms)
    if len(out) > limit:
        out = out[:limit].rsplit(" ", 1)[0]
    return out


def _title_terms(ticket: Ticket) -> str:
    # The structured fields count as title: a hash or an order number is what the ticket is about.
    fields = (
        ticket.title,
        ticket.case_number,
        ticket.tx_hash,
        ticket.order_number,
        ticket.coin,
        ticket.network,
    )
    return _joined([bucket_term(ticket.pk), *terms_of(" ".join(f for f in fields if f))])


def bucket_term(ticket_id: int) -> str:
    """A term naming the ticket's block of BUCKET_SIZE consecutive ids, so that PostgreSQL can
    find the newest matches of a common word inside its GIN index (see _newest_on_postgresql)."""
    return f"{BUCKET_PREFIX}{ticket_id // BUCKET_SIZE}"


def _message_column(kind: str) -> str | None:
    if kind == MessageKind.PUBLIC:
        return "public_terms"
    if kind == MessageKind.INTERNAL:
        return "internal_terms"
    return None  # system events ("assigned to ...") are not what anyone searches for


def index_terms(ticket: Ticket, thread: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The three term columns of a ticket with its thread of (kind, body), oldest first."""
    columns: dict[str, list[str]] = {"public_terms": [], "internal_terms": []}
    for kind, body in thread:
        column = _message_column(kind)
        if column is not None:
            columns[column].extend(terms_of(body))
    return {
        "title_terms": _title_terms(ticket),
        "public_terms": _joined(columns["public_terms"]),
        "internal_terms": _joined(columns["internal_terms"]),
    }


def index_ticket(ticket: Ticket) -> None:
    """(Re)write a ticket's terms from its title and whole thread: a backfill, or after a merge."""
    thread = Message.objects.filter(ticket=ticket).order_by("created_at", "id").values_list("kind", "body")
    TicketSearch.objects.update_or_create(ticket=ticket, defaults=index_terms(ticket, thread))


def _append_message(ticket: Ticket, message: Message) -> None:
    column = _message_column(message.kind)
    if column is None:
        return
    row = TicketSearch.objects.filter(ticket_id=ticket.pk).first()
    if row is None:  # a ticket from before the index (not yet backfilled): take the whole thread
        index_ticket(ticket)
        return
    current: str = getattr(row, column)
    if len(current) >= MAX_TERMS_CHARS:
        return
    addition = _joined(terms_of(message.body), limit=MAX_TERMS_CHARS - len(current) - 1)
    if addition:
        setattr(row, column, f"{current} {addition}" if current else addition)
        row.save(update_fields=[column])


def on_ticket_created(event: events.TicketCreated) -> None:
    # One INSERT ... ON CONFLICT DO UPDATE: update_or_create's SELECT, savepoint and release
    # were four round trips of every create (a row can already exist where a case was indexed
    # before it became a ticket, so a plain insert is not enough). Its SQL built once
    # (kefu.rowlookup): bulk_create(update_conflicts=True) compiled it on every create, a
    # third of this subscriber's CPU (py-spy, issue 13).
    rowlookup.insert(
        TicketSearch(
            ticket=event.ticket,
            title_terms=_title_terms(event.ticket),
            public_terms=_joined(terms_of(event.message.body)),
            internal_terms="",
        ),
        replacing="ticket",
    )


def on_message_added(event: events.MessageAdded) -> None:
    # do_add_message holds the ticket's row lock, so two replies never append over each other.
    _append_message(event.ticket, event.message)


def on_ticket_merged(event: events.TicketMerged) -> None:
    # The source's messages now belong to the target: both threads changed.
    index_ticket(event.target)
    index_ticket(event.source)


def register() -> None:
    """Keep the index in the changing transaction (from TicketsConfig.ready())."""
    events.subscribe(events.TicketCreated, on_ticket_created, when=events.IN_TRANSACTION)
    events.subscribe(events.MessageAdded, on_message_added, when=events.IN_TRANSACTION)
    events.subscribe(events.TicketMerged, on_ticket_merged, when=events.IN_TRANSACTION)


def reindex(
    *, only_missing: bool = True, batch: int = 500, progress: Callable[[int], None] | None = None
) -> int:
    """Write the terms of every ticket (or of those without any): the backfill. Idempotent and
    resumable; each batch is its own transaction. Returns how many tickets were indexed."""

    done = 0
    last = 0
    while True:
        qs = Ticket.objects.filter(pk__gt=last).order_by("pk")
        if only_missing:
            qs = qs.filter(search__isnull=True)
        tickets = list(qs[:batch])
        if not tickets:
            return done
        with transaction.atomic():
            for ticket in tickets:
                index_ticket(ticket)
        done += len(tickets)
        last = tickets[-1].pk
        if progress is not None:
            progress(done)


# --- queries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedQuery:
    """A query's terms: every ``required`` one must be in a match."""

    text: str
    required: tuple[str, ...]
    # Surface forms to mark in results (normalised): Chinese runs and Latin words as typed.
    marks: tuple[str, ...]


def parse_query(text: str) -> ParsedQuery:
    text = (text or "").strip()[:MAX_QUERY_CHARS]
    normalised = analysis.normalize(text)
    runs = _CJK_RUN.findall(normalised)
    terms = analysis._latin_terms(normalised) + _cjk_terms(runs, words=False)
    required = tuple(dict.fromkeys(t for t in terms if _SAFE_TERM.fullmatch(t)))[:MAX_QUERY_TERMS]
    latin = [w for w in re.findall(r"[a-z0-9]+", normalised) if len(w) > 1 or w.isdigit()]
    if runs:  # the run itself, and its words where only part of it occurs
        runs += [
            w
            for w in analysis._jieba().cut_for_search(" ".join(runs))
            if len(w) > 1 and _CJK_RUN.fullmatch(w)
        ]
    marks = tuple(
        sorted(set(runs) | set(latin) | {analysis.stem(w) for w in latin}, key=lambda m: (-len(m), m))
    )
    return ParsedQuery(text=text, required=required, marks=marks)


@dataclass(frozen=True)
class Filters:
    """What an agent narrows a search (or a list) to. Empty values filter nothing."""

    status: str = ""  # a Status value, "active", or "" (any)
    team: str = ""  # team slug
    category: str = ""  # category slug (its sub-categories too)
    channel: str = ""
    priority: int | None = None
    assignee: str = ""  # "me", "none" or a user's public id
    created_from: date | None = None
    created_to: date | None = None
    # A report's drill-down (?report=1): only the cases a report counts (no merged duplicate);
    # ?sla=met|breached: those with an SLA target met / breached (?sla_target=<kind>: that one).
    report: bool = False
    sla: str = ""
    sla_target: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Filters:
        def day(name: str) -> date | None:
            try:
                return date.fromisoformat((params.get(name) or "").strip())
            except ValueError:
                return None

        try:
            priority = int(params.get("priority") or 0) or None
        except ValueError:
            priority = None
        return cls(
            status=(params.get("status") or "").strip()[:32],
            team=(params.get("team") or "").strip()[:50],
            category=(params.get("category") or "").strip()[:50],
            channel=(params.get("channel") or "").strip()[:16],
            priority=priority,
            assignee=(params.get("assignee") or "").strip()[:64],
            created_from=day("created_from"),
            created_to=day("created_to"),
            report=params.get("report") == "1",
            sla=sla if (sla := params.get("sla") or "") in ("met", "breached") else "",
            sla_target=(params.get("sla_target") or "").strip()[:20],
        )

    def apply(self, qs: QuerySet[Ticket], user: User) -> QuerySet[Ticket]:
        if self.status == "active":
            qs = qs.filter(ACTIVE_Q)
        elif self.status and self.status != "any":
            qs = qs.filter(status=self.status)
        if self.team:
            qs = qs.filter(team__in=Team.objects.filter(slug=self.team).values("pk")[:1])
        if self.category:
            ids = [
                c.pk
                for c in selectors.active_categories()
                if self.category in (c.slug, c.parent.slug if c.parent else "")
            ]
            qs = qs.filter(category_id__in=ids)
        if self.channel:
            qs = qs.filter(channel=self.channel)
        if self.priority:
            qs = qs.filter(priority=self.priority)
        if self.assignee == "me":
            qs = qs.filter(assignee=user)
        elif self.assignee == "none":
            qs = qs.filter(assignee__isnull=True)
        elif self.assignee:
            public_id = _uuid_or_none(self.assignee)
            if public_id is None:
                return qs.none()
            qs = qs.filter(assignee__in=User.objects.filter(public_id=public_id).values("pk"))
        if self.report:
            qs = qs.filter(merged_into__isnull=True)
        if self.sla:
            from kefu.sla.models import BREACHED_Q, MET_Q, SlaTimer

            timers = SlaTimer.objects.filter(
                MET_Q if self.sla == "met" else BREACHED_Q, ticket=OuterRef("pk")
            )
            if self.sla_target:
                timers = timers.filter(kind=self.sla_target)
            qs = qs.filter(Exists(timers))
        tz = timezone.get_current_timezone()
        if self.created_from:
            qs = qs.filter(created_at__gte=datetime.combine(self.created_from, time.min, tzinfo=tz))
        if self.created_to:
            qs = qs.filter(
                created_at__lt=datetime.combine(self.created_to + timedelta(days=1), time.min, tzinfo=tz)
            )
        return qs


def _uuid_or_none(value: str) -> str | None:
    return value if re.fullmatch(r"[0-9a-fA-F-]{32,36}", value) else None


# --- exact lookups -------------------------------------------------------------------------

_CASE = re.compile(r"(?:KF)?[-\s]?(\d{8})[-\s]?(\d{8})", re.IGNORECASE)
_HASH = re.compile(r"(?:0x)?[0-9a-fA-F]{64}")
_PHONE = re.compile(r"\+?[\d\s()-]{6,24}")
_ORDER = re.compile(r"[A-Za-z0-9_-]{6,64}")


def _exact_q(text: str) -> tuple[str, Q] | None:
    """The lookup ``text`` is written as, and its condition; None for free text."""
    if match := _CASE.fullmatch(text):
        return "case_number", Q(case_number=f"KF-{match.group(1)}-{match.group(2)}")
    if "@" in text and " " not in text:
        return "email", Q(customer__in=User.objects.filter(email=canonical_email(text)).values("pk"))
    if _HASH.fullmatch(text):
        bare = text[2:] if text.lower().startswith("0x") else text
        forms = {text, bare, bare.lower(), "0x" + bare.lower(), bare.upper(), "0x" + bare}
        # "<> ''" spelled as in the partial index's condition, so that SQLite uses the index.
        return "tx_hash", Q(tx_hash__in=sorted(forms)) & ~Q(tx_hash="")
    condition = Q()
    kind = ""
    if _PHONE.fullmatch(text) and sum(c.isdigit() for c in text) >= 6:
        digits = re.sub(r"\D", "", text)
        phones = sorted({text, digits, "+" + digits, "+86" + digits, digits.removeprefix("86")})
        condition |= Q(customer__in=User.objects.filter(phone__in=phones).values("pk"))
        kind = "phone"
    if _ORDER.fullmatch(text) and any(c.isdigit() for c in text):
        # Also a 64-hex-free address-like token: an order number is the only field it can be.
        condition |= Q(order_number__in=sorted({text, text.upper()})) & ~Q(order_number="")
        kind = "order_number" if not kind else "phone_or_order"
    return (kind, condition) if kind else None


# --- results -------------------------------------------------------------------------------


@dataclass
class Hit:
    ticket: Ticket
    title: SafeString
    snippet: SafeString
    match: str  # "case_number", "email", "phone", "tx_hash", "order_number", or "text"


@dataclass
class SearchPage:
    hits: list[Hit]
    next_cursor: str | None
    match: str = ""
    items: list[Ticket] = field(default_factory=list)


def search_tickets(
    user: User,
    query: str,
    *,
    filters: Filters | None = None,
    cursor: str | None = None,
    size: int = 25,
    scope: Q | None = None,
) -> SearchPage:
    """Tickets ``user`` may see that match ``query``, best first: an exact lookup when the query
    is an identifier that finds something, full text otherwise. A customer only finds their own
    tickets, by their titles and public messages. ``scope`` narrows further (merge targets)."""
    filters = filters or Filters()
    base = filters.apply(selectors.tickets_visible_to(user), user)
    if scope is not None:
        base = base.filter(scope)
    parsed = parse_query(query)
    if not parsed.text:
        return SearchPage(hits=[], next_cursor=None)
    exact = _exact_q(parsed.text)
    # A ranked ("r") or newest-first ("n") cursor belongs to the full-text pages.
    if exact is not None and not (cursor or "").startswith(("r", "n")):
        kind, condition = exact
        page = selectors.page_of(base.filter(condition), cursor=cursor, size=size)
        if page.items or cursor:
            hits = [Hit(t, escape(t.title), mark_safe(""), kind) for t in page.items]
            return SearchPage(hits=hits, next_cursor=page.next_cursor, match=kind, items=page.items)
    if not parsed.required:
        return SearchPage(hits=[], next_cursor=None, match="text")
    items, next_cursor = _full_text_page(base, parsed, staff=user.is_agent, cursor=cursor, size=size)
    hits = _highlight(items, parsed, staff=user.is_agent)
    return SearchPage(hits=hits, next_cursor=next_cursor, match="text", items=items)


def _encode(score: float, pk: int) -> str:
    return "r" + base64.urlsafe_b64encode(f"{score!r}|{pk}".encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> tuple[float, int] | None:
    if not cursor or not cursor.startswith("r"):
        return None
    raw = cursor[1:]
    try:
        score, pk = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode().split("|", 1)
        value, number = float(score), int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if value != value or abs(value) == float("inf") or not 0 <= number < 2**63:
        return None
    return value, number


def _match_sql(parsed: ParsedQuery, *, staff: bool) -> tuple[str, str, str]:
    """(the search table, its match condition, the query parameter) in this database's dialect.
    Terms are only letters, digits and Chinese characters (``_SAFE_TERM``), so quoting them
    cannot be broken out of."""
    if connection.vendor == "postgresql":
        weights = "" if staff else ":AB"  # A title, B public messages, D internal notes
        tsquery = " & ".join(f"'{term}'{weights}" for term in parsed.required)
        return "tickets_ticketsearch", "vector @@ to_tsquery('simple', %s)", tsquery
    expression = " AND ".join(f'"{term}"' for term in parsed.required)
    if not staff:
        expression = "{title_terms public_terms} : (" + expression + ")"
    return "tickets_search_fts", "tickets_search_fts MATCH %s", expression


def _matches_more_than(parsed: ParsedQuery, *, staff: bool, limit: int) -> bool:
    """Whether the terms match more than ``limit`` tickets (counting stops there: cheap)."""
    table, condition, parameter = _match_sql(parsed, staff=staff)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {condition} LIMIT %s) AS found",
            [parameter, limit + 1],
        )
        row = cursor.fetchone()
    return bool(row and row[0] > limit)


def _full_text_page(
    base: QuerySet[Ticket], parsed: ParsedQuery, *, staff: bool, cursor: str | None, size: int
) -> tuple[list[Ticket], str | None]:
    """The full-text match joined to the (permission-filtered) tickets: ranked by relevance when
    the terms match at most RANK_LIMIT tickets, newest first when they match more.

    Ranking computes a score for every match, which a word found in a fifth of all tickets makes
    slow (and hardly meaningful); then the newest matching tickets are shown, found by walking
    the ticket ids downwards until a page is full (FTS5 in rowid order; on PostgreSQL see
    _newest_on_postgresql). The first page decides, and its cursor carries the order on:
    "r" + (score, id), or "n" + id. Keys first, then the page's rows with their related
    objects, then the snippets: a fixed number of queries whatever the page size (at most seven
    on PostgreSQL's newest-first path), never one per result.
    """
    if cursor and cursor.startswith("n"):
        newest_first = True
    elif cursor and cursor.startswith("r"):
        newest_first = False
    else:
        newest_first = _matches_more_than(parsed, staff=staff, limit=RANK_LIMIT)
    table, condition, parameter = _match_sql(parsed, staff=staff)
    next_cursor = None
    if newest_first:
        after = _decode_id(cursor)
        if table == "tickets_ticketsearch":
            ids = _newest_on_postgresql(base, parameter, before=after, size=size)
        else:
            # FTS5 walks its lists in descending rowid order itself; each match is joined to its
            # ticket (permissions, filters) until the page is full.
            qs = base.extra(
                tables=[table],
                where=[f"{table}.rowid = tickets_ticket.id", condition],
                params=[parameter],
                select={"fts_rowid": f"{table}.rowid"},
            )
            if after is not None:
                qs = qs.extra(where=[f"{table}.rowid < %s"], params=[after])
            ids = list(qs.order_by("-fts_rowid").values_list("id", flat=True)[: size + 1])
        if len(ids) > size:
            next_cursor = f"n{ids[size - 1]}"
        return _load(ids[:size]), next_cursor
    if table == "tickets_ticketsearch":
        score = "ts_rank(tickets_ticketsearch.vector, to_tsquery('simple', %s))"
        score_params: list[object] = [parameter]
        qs = base.extra(
            tables=[table],
            where=["tickets_ticketsearch.ticket_id = tickets_ticket.id", f"tickets_ticketsearch.{condition}"],
            params=[parameter],
            select={"search_score": score},
            select_params=score_params,
        )
    else:
        # bm25() is lower for better matches: negated, so that both engines sort descending.
        score = "(-bm25(tickets_search_fts, {}, {}, {}))".format(*BM25_WEIGHTS)
        score_params = []
        qs = base.extra(
            tables=[table],
            where=["tickets_search_fts.rowid = tickets_ticket.id", condition],
            params=[parameter],
            select={"search_score": score},
        )
    position = _decode(cursor)
    if position is not None:
        value, pk = position
        qs = qs.extra(
            where=[f"({score} < %s OR ({score} = %s AND tickets_ticket.id < %s))"],
            params=[*score_params, value, *score_params, value, pk],
        )
    keys = list(qs.order_by("-search_score", "-id").values_list("id", "search_score")[: size + 1])
    if len(keys) > size:
        pk, value = keys[size - 1]
        next_cursor = _encode(float(value), pk)
    return _load([pk for pk, _ in keys[:size]]), next_cursor


def _load(ids: list[int]) -> list[Ticket]:
    by_id = Ticket.objects.select_related("category", "team", "assignee", "customer").in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


def _newest_on_postgresql(
    base: QuerySet[Ticket], tsquery: str, *, before: int | None, size: int
) -> list[int]:
    """Ids of the newest matching tickets below ``before``, for a query matching very many.

    Ranking them all is what this avoids, and so is reading every match: PostgreSQL estimates
    an AND of a phrase's bigrams as if they were independent (a handful of rows), so it would
    take every match out of the GIN index and sort them. Instead:

    1. the newest WALK_IDS ids are walked one by one, probing each one's terms (a word in a
       tenth of all tickets fills a page within a few hundred ids);
    2. then each query also requires the bucket term of the newest blocks of ids below (one
       block, then 4, then 16), which the GIN index intersects itself, so only the matches in
       those blocks are read;
    3. the last try drops the bucket and reads everything left.
    """
    if before is None:
        top = Ticket.objects.order_by("-id").values_list("id", flat=True).first()
        if top is None:
            return []
        before = top + 1
    match = "tickets_ticket.id IN (SELECT ticket_id FROM tickets_ticketsearch WHERE vector @@ to_tsquery('simple', %s))"
    walked = base.filter(pk__lt=before, pk__gte=before - WALK_IDS).extra(where=[match], params=[tsquery])
    with transaction.atomic(), connection.cursor() as cursor:
        # The walk: with bitmap and sequential scans off the planner goes down the ids and
        # probes each ticket's terms by primary key.
        cursor.execute("SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off")
        ids = list(walked.order_by("-id").values_list("id", flat=True)[: size + 1])
        cursor.execute("RESET enable_bitmapscan; RESET enable_seqscan")
    upper = before - WALK_IDS
    block = (upper - 1) // BUCKET_SIZE
    for span in (1, 4, 16, 0):
        if len(ids) > size or upper <= 0:
            break
        if span:
            if block < 0:
                break
            buckets = [f"'{BUCKET_PREFIX}{b}'" for b in range(block, max(block - span, -1), -1)]
            query = f"({tsquery}) & ({' | '.join(buckets)})"
            block -= span
        else:
            query = tsquery
        found = base.filter(pk__lt=upper).extra(where=[match], params=[query])
        more = list(found.order_by("-id").values_list("id", flat=True)[: size + 1 - len(ids)])
        ids += more
        if more:
            upper = more[-1]
    return ids


def _decode_id(cursor: str | None) -> int | None:
    if not cursor or not cursor.startswith("n") or not cursor[1:].isdigit() or len(cursor) > 20:
        return None
    return int(cursor[1:])


# --- highlights ----------------------------------------------------------------------------


def _marked(text: str, marks: tuple[str, ...], *, window: bool) -> SafeString:
    """``text`` escaped, the query's words wrapped in ``<mark>``; with ``window``, cut to about
    SNIPPET_CHARS around the first mark. Every piece of the customer's text is escaped."""
    normalised = analysis.normalize(text)
    spans: list[tuple[int, int]] = []
    # Normalising can change lengths (NFKC ligatures): then mark nothing rather than the wrong span.
    if len(normalised) == len(text):
        for mark in marks:
            latin = mark[0].isascii()
            start = normalised.find(mark)
            while start != -1:
                end = start + len(mark)
                if (
                    latin
                    and start > 0
                    and normalised[start - 1].isascii()
                    and normalised[start - 1].isalnum()
                ):
                    start = normalised.find(mark, start + 1)
                    continue  # inside a word
                if latin:
                    while end < len(normalised) and normalised[end].isascii() and normalised[end].isalnum():
                        end += 1  # a stem marks the whole word
                spans.append((start, end))
                start = normalised.find(mark, end)
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    begin, stop = 0, len(text)
    if window and len(text) > SNIPPET_CHARS:
        first = spans[0][0] if spans else 0
        begin = max(0, min(first - SNIPPET_CHARS // 3, len(text) - SNIPPET_CHARS))
        stop = begin + SNIPPET_CHARS
    out = ["…" if begin > 0 else ""]
    at = begin
    for a, b in spans:
        if a < at or b > stop:
            continue
        out.append(escape(text[at:a]))
        out.append("<mark>" + escape(text[a:b]) + "</mark>")
        at = b
    out.append(escape(text[at:stop]))
    out.append("…" if stop < len(text) else "")
    return mark_safe("".join(out))  # noqa: S308 - every piece of text is escaped


def _highlight(items: list[Ticket], parsed: ParsedQuery, *, staff: bool) -> list[Hit]:
    """Titles marked up, and the best-matching message of each ticket as a snippet: one query
    for the whole page (the messages the reader may see, newest first)."""
    if not items:
        return []
    kinds = [MessageKind.PUBLIC, MessageKind.INTERNAL] if staff else [MessageKind.PUBLIC]
    bodies: dict[int, list[str]] = {}
    for ticket_id, body in (
        Message.objects.filter(ticket_id__in=[t.pk for t in items], kind__in=kinds)
        .order_by("-created_at", "-id")
        .values_list("ticket_id", "body")
    ):
        bodies.setdefault(ticket_id, []).append(body)
    hits = []
    for ticket in items:
        best = ""
        best_count = 0
        for body in bodies.get(ticket.pk, []):
            normalised = analysis.normalize(body)
            count = sum(1 for mark in parsed.marks if mark in normalised)
            if count > best_count:
                best, best_count = body, count
        hits.append(
            Hit(
                ticket=ticket,
                title=_marked(ticket.title, parsed.marks, window=False),
                snippet=_marked(best, parsed.marks, window=True) if best else mark_safe(""),
                match="text",
            )
        )
    return hits


def merge_candidates(user: User, ticket: Ticket, query: str, *, size: int = 10) -> list[Hit]:
    """Tickets ``ticket`` could be merged into: the same customer's (do_merge's rule) that are not
    merged away themselves, found by ``query``, or their latest ones when there is no query."""
    if ticket.customer_id is None:  # a visitor's case: nobody else's case is "theirs"
        return []
    scope = Q(customer_id=ticket.customer_id, merged_into__isnull=True) & ~Q(pk=ticket.pk)
    if not query.strip():
        rows = list(
            selectors.tickets_visible_to(user)
            .filter(scope)
            .select_related("category")
            .order_by("-updated_at", "-id")[:size]
        )
        return [Hit(t, escape(t.title), mark_safe(""), "") for t in rows]
    return search_tickets(user, query, size=size, scope=scope).hits
