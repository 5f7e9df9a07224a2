"""A deterministic, realistic VK world for the sandbox: communities, posts, comments, answers, ground truth.

`generate_world(start, days, seed)` reads the registry (monitored communities, official accounts) and the
domain code lists, then writes, for each day, what a Kuban city community sees: its own news, citizens'
complaints and chatter, ads, insults, complaints about federal bodies, the official accounts' own posts and
their answers in the threads. Every message carries a label (the ground truth) for tests and evaluation.

All times are Europe/Moscow wall-clock times stored as unix seconds. Nothing reads the clock or the
global random generator: the same (start, days, seed) always gives the same world. The world is a
snapshot taken at the end of the period: answers that would come later are not in it.
"""

from __future__ import annotations

import csv
import random
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from socmon.calendar import add_working_minutes, working_days
from socmon.config import settings
from socmon.constants import MOSCOW
from socmon_sandbox import texts

DEFAULT_START = date(2026, 11, 24)
DEFAULT_DAYS = 3
"""The world of `socmon sandbox` and of the demo: Tuesday to Thursday, ordinary working days."""

CITIZEN_POOL_SIZE = 300
CITIZEN_MESSAGES_PER_DAY = (40, 72)
"""Citizens' own posts and comments; their thanks under official answers come on top (40–80 in all)."""
NEWS_POSTS_PER_COMMUNITY_PER_DAY = (3, 6)
CLOSED_PROFILE_SHARE = 0.15

CITIZEN_KIND_WEIGHTS = {
    "incident": 55,
    "chat": 6,
    "ad": 8,
    "out_of_scope": 10,
    "abusive": 4,
    "duplicate": 5,
    "thread_chatter": 7,
}
"""What a citizen's message is; about 55% are incidents (duplicates are merged, not incidents)."""

CATEGORY_WEIGHTS = {
    "roads": 12,
    "utilities": 12,
    "improvement": 8,
    "waste": 8,
    "housing_management": 7,
    "public_transport": 7,
    "healthcare": 7,
    "education": 6,
    "social_protection": 3,
}
"""The most frequent topics in the krai; every other category weighs `RARE_CATEGORY_WEIGHT`."""
RARE_CATEGORY_WEIGHT = 1
CATEGORY_COVERAGE_WINDOW = 50
"""Every category appears among the first this many incidents (about two days)."""

INCIDENT_ON_OFFICIAL_WALL_SHARE = 0.10
"""Share of incidents left as questions under an official account's own post."""
MESSAGE_AS_COMMENT_SHARE = 0.35
"""Share of the other citizen messages written as comments under a community's news post."""
AD_AS_COMMENT_SHARE = 0.15
CITY_MENTION_SHARE = 0.7
"""Share of messages about a municipality with a city that name the city rather than a village."""
RECENT_POST_WINDOW = timedelta(days=3)
"""Citizens comment on posts of the last few days only."""
MIN_COMMENT_DELAY = timedelta(minutes=3)
COMPLAINT_KINDS = ("incident", "duplicate", "out_of_scope")
"""What other citizens react to in the threads."""

ANSWER_OUTCOME_WEIGHTS = {"on_time": 35, "late": 30, None: 35}
ON_TIME_WORKING_MINUTES = (15, 180)
"""On time: within 1–3 working hours, well inside the 8-hour (or 4-hour, important) deadline."""
LATE_WORKING_MINUTES = (570, 16 * 60)
"""Late: past the 8-working-hour deadline, even when counted from an hourly detection after publication."""
THANKS_SHARE = 0.3
THANKS_DELAY_MINUTES = (5, 6 * 60)
"""The author of a complaint thanks the official account in the thread, some minutes or hours later."""
FIRST_ANSWER_IS_FINAL_SHARE = 0.35
FINAL_FOLLOWS_INTERMEDIATE_SHARE = 0.6
FINAL_AFTER_INTERMEDIATE_WORKING_MINUTES = (4 * 60, 4 * 9 * 60)

FRIDAY = 4  # working hours and days are production's: socmon.calendar

CITIZEN_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 6, 7, 8, 8, 8, 8, 8, 8, 8, 7, 7, 8, 8, 7, 5, 3)
"""Citizens write mostly in the daytime and in the evening, a little at night."""
FRIDAY_EVENING_HOURS = range(17, 24)
FRIDAY_EVENING_BOOST = 2
NEWS_HOUR_WEIGHTS = (0, 0, 0, 0, 0, 0, 1, 4, 6, 6, 5, 5, 5, 5, 5, 5, 5, 6, 6, 5, 4, 3, 1, 0)
OFFICIAL_HOUR_WEIGHTS = (0, 0, 0, 0, 0, 0, 0, 0, 1, 4, 6, 6, 5, 4, 6, 6, 5, 4, 2, 1, 0, 0, 0, 0)
OFFICIAL_WEEKEND_POSTING_SHARE = 0.3

PINNED_POST_AGE_DAYS = (20, 120)
POSTS_BEFORE_PERIOD = (200, 3000)
"""Id gap between the old pinned post and the period: the posts in between are not in the world."""
FIRST_WALL_ID = (1_000, 90_000)
COMMUNITY_MEMBERS = (30_000, 600_000)
OFFICIAL_MEMBERS = (2_000, 150_000)
ADMINISTRATION_MEMBERS = (150_000, 400_000)
VIEWS_PER_MEMBER = (0.005, 0.05)
LIKES_PER_VIEW = (0.002, 0.03)
REPOSTS_PER_LIKE = (0.0, 0.2)
VIEWER_FIELDS = {
    "can_message": 1,
    "can_see_all_posts": 1,
    "age_limits": 1,
    "member_status": 0,
    "is_member": 0,
    "is_admin": 0,
    "is_advertiser": 0,
}
"""Group fields that describe the caller, as VK returns them to an outsider's token."""
COVER_SIZES = ((200, 50), (400, 101), (795, 200), (1080, 272), (1590, 400))
NO_PHOTO_URL = "https://vk.ru/images/community_{size}.png"
USER_ID_RANGE = (1_000_000, 899_999_999)
BUS_ROUTES = (3, 5, 7, 9, 12, 15, 21, 27, 33, 44, 55, 101, 115)
AMBULANCE_MINUTES = (40, 50, 55, 70, 90, 120)  # all take the plural «минут»
PROMISE_DAYS = (5, 30)

STYLE_PROBABILITY = {"opening": 0.3, "closing": 0.3, "emoji": 0.25, "hashtags": 0.12, "mention": 0.1}
SLOPPY_STYLE_WEIGHTS = {"plain": 62, "lowercase": 14, "caps": 6, "exclaim": 10, "colloquial": 8}

_CLEAN_SETTLEMENT_NAME = re.compile(r"^[А-ЯЁ][а-яёА-ЯЁ\- ]+$")
_CYRILLIC_WORD = re.compile(r"[а-яё]+", re.IGNORECASE)


@dataclass(frozen=True)
class World:
    """The generated VK data as the API returns it, and the ground truth for every message."""

    start: date
    days: int
    vk_groups: dict[int, dict[str, Any]]
    """group_id → `groups_group_full` (as `groups.getById` returns it with every field)."""
    vk_users: dict[int, dict[str, Any]]
    """user_id → `users_user_full` of the citizens (for `extended=1`)."""
    vk_posts: dict[int, list[dict[str, Any]]]
    """owner_id → `wall_wallpost_full` items, newest first."""
    vk_comments: dict[tuple[int, int], list[dict[str, Any]]]
    """(owner_id, post_id) → top-level `wall_wall_comment` items, oldest first, replies in `thread.items`."""
    labels: list[dict[str, Any]]
    """The ground truth, one dict per post or comment, in publication order:

    - `source_message_key`: `vk:wall<owner_id>_<post_id>` or `vk:comment<owner_id>_<post_id>_<comment_id>`;
    - `kind`: incident, duplicate, news, ad, chat, out_of_scope, abusive, official_post, official_answer;
    - `is_incident`, `category_code`, `municipality_code` and `place_mention` (the place as the text names
      it, «в Армавире»), the last three None when the message has none;
    - for incidents: `answered_by` (body code), `answer_delay_minutes` (to the first answer) and
      `answer_timing` ("on_time" within 1–3 working hours, "late" past 9.5, None when unanswered);
    - `answers_key` (an official answer: the incident it answers), `duplicate_of` (a duplicate: the
      incident it repeats), `published_at` (unix seconds).
    """

    @property
    def end(self) -> datetime:
        """The moment the snapshot is taken: midnight in Moscow after the last day."""
        return datetime.combine(self.start + timedelta(days=self.days), time(0), MOSCOW)


def generate_world(start: date, days: int, seed: int = 449) -> World:
    """Generate `days` days of VK activity from `start` (Moscow time) around the registry's communities."""
    if days < 1:
        raise ValueError("days must be at least 1")
    return _WorldBuilder(start, days, random.Random(seed), _Reference.load()).build()


# --- reference data ---------------------------------------------------------------------------------


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@dataclass(frozen=True)
class _Place:
    municipality_code: str
    name: str
    mention: str
    spots: tuple[str, ...]


@dataclass(frozen=True)
class _Reference:
    """The registry and the domain code lists, read from the dbt seeds."""

    communities: list[dict[str, str]]
    accounts: list[dict[str, str]]
    default_body: dict[str, str]
    municipality_names: dict[str, str]
    municipality_types: dict[str, str]
    cities: dict[str, list[str]]
    settlements: dict[str, list[tuple[str, str]]]

    @classmethod
    def load(cls) -> _Reference:
        registry = settings().registry_dir
        domain = settings().dbt_project_dir / "seeds" / "domain"
        municipalities = _read_csv(domain / "municipalities.csv")
        cities: dict[str, list[str]] = {}
        settlements: dict[str, list[tuple[str, str]]] = {}
        for row in _read_csv(domain / "settlements.csv"):
            code, name, kind = row["municipality_code"], row["name_ru"], row["settlement_type"]
            if kind == "город" and name in texts.CITY_LOCATIVES:
                cities.setdefault(code, []).append(name)
            elif kind in texts.SETTLEMENT_PREFIXES and _CLEAN_SETTLEMENT_NAME.match(name):
                settlements.setdefault(code, []).append((name, kind))
        return cls(
            communities=[
                r for r in _read_csv(registry / "monitored_communities.csv") if r["platform"] == "vk"
            ],
            accounts=[r for r in _read_csv(registry / "official_accounts.csv") if r["platform"] == "vk"],
            default_body={r["code"]: r["default_body_code"] for r in _read_csv(domain / "categories.csv")},
            municipality_names={r["code"]: r["name_ru"] for r in municipalities},
            municipality_types={r["code"]: r["type"] for r in municipalities},
            cities=cities,
            settlements=settlements,
        )

    def administration_accusative(self, municipality_code: str) -> str:
        """«администрацию Кавказского района», «администрацию муниципального образования город Армавир»."""
        name = self.municipality_names[municipality_code]
        if self.municipality_types[municipality_code] == "municipal_district":
            adjective = name.removesuffix(" район")
            return f"администрацию {adjective[:-2]}ого района"
        return f"администрацию муниципального образования {name}"


# --- working time -----------------------------------------------------------------------------------


class _WorkingClock:
    """Production's working time (`socmon.calendar`: Moscow hours, the lunch break, shortened days,
    holidays and transfers off), so that the sandbox's "on time" is the SLA's."""

    def is_working_day(self, day: date) -> bool:
        entry = working_days().get(day)
        return entry is not None and entry.is_working_day

    def add(self, moment: datetime, minutes: int) -> datetime:
        return add_working_minutes(moment, minutes)


# --- drafts -----------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Truth:
    """The ground truth of a message, with links to other drafts; `_label` turns it into a dict."""

    kind: str
    is_incident: bool = False
    category_code: str | None = None
    municipality_code: str | None = None
    place_mention: str | None = None
    answered_by: str | None = None
    answer_delay_minutes: int | None = None
    answer_timing: str | None = None
    answers: _Message | None = None
    duplicate_of: _Message | None = None


@dataclass(eq=False)
class _Message:
    owner_id: int
    from_id: int
    at: datetime
    text: str
    truth: _Truth
    slots: dict[str, str] = field(default_factory=dict)
    """The values filled into the message's template, for an answer to refer to."""
    final_answer: str = ""
    """For an incident: the template of the answer that resolves it."""
    item_id: int = 0

    @property
    def source_message_key(self) -> str:
        raise NotImplementedError


@dataclass(eq=False)
class _Post(_Message):
    is_pinned: bool = False
    comments_open: bool = True
    audience: int = 0
    comments: list[_Comment] = field(default_factory=list)

    @property
    def source_message_key(self) -> str:
        return f"vk:wall{self.owner_id}_{self.item_id}"

    def all_comments(self) -> list[_Comment]:
        return [c for top in self.comments for c in (top, *top.replies)]


@dataclass(eq=False)
class _Comment(_Message):
    post: _Post = field(kw_only=True)
    parent: _Comment | None = None
    reply_to: _Comment | None = None
    replies: list[_Comment] = field(default_factory=list)

    @property
    def source_message_key(self) -> str:
        return f"vk:comment{self.owner_id}_{self.post.item_id}_{self.item_id}"

    @property
    def thread_root(self) -> _Comment:
        return self.parent or self


@dataclass(frozen=True)
class _AccountStyle:
    """How an official account is kept: a later check rates these for compliance."""

    posts_per_day: tuple[int, int] = (1, 3)
    posting_day_share: float = 1.0
    verified: bool = True
    has_photo: bool = True
    has_cover: bool = True
    has_description: bool = True
    has_site: bool = True
    comments_open: bool = True


ADMINISTRATION_STYLE = _AccountStyle(posts_per_day=(3, 6))
EXECUTIVE_BODY_STYLES = (
    _AccountStyle(posts_per_day=(0, 0)),  # silent for the whole period
    _AccountStyle(posts_per_day=(1, 1), posting_day_share=0.3, verified=False, has_cover=False),
    _AccountStyle(posts_per_day=(1, 2), has_description=False, has_site=False),
    _AccountStyle(posts_per_day=(1, 3), comments_open=False, has_photo=False),
)
"""Given in a seeded order to the executive bodies' accounts; the others get `_AccountStyle()`."""


@dataclass(eq=False)
class _Wall:
    owner_id: int
    group: dict[str, Any]
    municipality_code: str | None = None
    account: dict[str, str] | None = None
    style: _AccountStyle | None = None
    posts: list[_Post] = field(default_factory=list)

    @property
    def is_official(self) -> bool:
        return self.account is not None


# --- the builder ------------------------------------------------------------------------------------


class _WorldBuilder:
    def __init__(self, start: date, days: int, rng: random.Random, reference: _Reference) -> None:
        self.start, self.days, self.rng, self.ref = start, days, rng, reference
        self.end = datetime.combine(start + timedelta(days=days), time(0), MOSCOW)
        self.clock = _WorkingClock()
        self.users: dict[int, dict[str, Any]] = {}
        self.walls: dict[int, _Wall] = {}
        self.account_by_body: dict[str, dict[str, str]] = {a["body_code"]: a for a in reference.accounts}
        self.citizen_messages: list[_Message] = []
        self.incidents: list[tuple[_Message, dict[str, str] | None]] = []
        self.citizens: list[int] = []
        self.citizen_weights: list[float] = []
        self.category_deck = self._category_deck()

    def build(self) -> World:
        self._make_citizens()
        self._make_walls()
        for offset in range(self.days):
            day = self.start + timedelta(days=offset)
            self._community_news(day)
            self._official_posts(day)
            self._citizen_day(day)
        self._answer_incidents()
        return self._finish()

    # citizens and walls

    def _make_citizens(self) -> None:
        rng = self.rng
        while len(self.users) < CITIZEN_POOL_SIZE:
            user_id = rng.randint(*USER_ID_RANGE)
            if user_id in self.users:
                continue
            female = rng.random() < 0.5
            surname = rng.choice(texts.SURNAMES)
            if female and surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
                surname += "а"
            closed = rng.random() < CLOSED_PROFILE_SHARE
            photo = _photo_url(rng)
            self.users[user_id] = {
                "id": user_id,
                "first_name": rng.choice(texts.FEMALE_FIRST_NAMES if female else texts.MALE_FIRST_NAMES),
                "last_name": surname,
                "sex": 1 if female else 2,
                "screen_name": f"id{user_id}",
                "photo_50": photo.format(size=50, kind="crop"),
                "photo_100": photo.format(size=100, kind="crop"),
                "online": 0,
                "is_closed": closed,
                "can_access_closed": not closed,
            }
        self.citizens = list(self.users)
        # a few people write most of the messages, as everywhere
        self.citizen_weights = [1 / (rank + 1) ** 0.6 for rank in range(len(self.citizens))]

    def _make_walls(self) -> None:
        rng = self.rng
        for row in self.ref.communities:
            group_id = int(row["community_id"])
            wall = _Wall(
                -group_id, self._community_group(row), municipality_code=row["municipality_code"] or None
            )
            self.walls[wall.owner_id] = wall
        executive = [a for a in self.ref.accounts if a["tier"] != "administration"]
        rng.shuffle(executive)
        styles = {a["account_key"]: s for a, s in zip(executive, EXECUTIVE_BODY_STYLES, strict=False)}
        for account in self.ref.accounts:
            if account["tier"] == "administration":
                style = ADMINISTRATION_STYLE
            else:
                style = styles.get(account["account_key"], _AccountStyle())
            group_id = int(account["account_id"])
            wall = _Wall(-group_id, self._official_group(account, style), account=account, style=style)
            self.walls[wall.owner_id] = wall
        for wall in self.walls.values():
            self._pinned_post(wall)

    def _community_group(self, row: dict[str, str]) -> dict[str, Any]:
        rng = self.rng
        place = self._municipality_title(row["municipality_code"] or None)
        return {
            "id": int(row["community_id"]),
            "name": row["name_ru"],
            "screen_name": row["screen_name"],
            "is_closed": 0,
            "type": "group",
            **_avatar(rng, has_photo=True),
            "verified": 0,
            "members_count": rng.randint(*COMMUNITY_MEMBERS),
            "activity": "Открытая группа",
            "description": texts.COMMUNITY_DESCRIPTION.format(place=place, phone=_phone(rng)),
            "site": "",
            "status": "Пишите в предложку 👇",
            "cover": _cover(rng),
            "counters": _counters(rng),
            "contacts": [{"user_id": rng.choice(list(self.users)), "desc": "Реклама и предложения"}],
            "wall": 1,
            "can_post": 1,
            **self._city(row["municipality_code"] or None),
            **VIEWER_FIELDS,
        }

    def _city(self, municipality_code: str | None) -> dict[str, Any]:
        """VK's `city` of a local community (a base object: id and title), none for a krai-wide one."""
        cities = self.ref.cities.get(municipality_code or "")
        if not cities:
            return {}
        return {"city": {"id": zlib.crc32(cities[0].encode()) % 1_000_000, "title": cities[0]}}

    def _official_group(self, account: dict[str, str], style: _AccountStyle) -> dict[str, Any]:
        rng = self.rng
        members_range = ADMINISTRATION_MEMBERS if account["tier"] == "administration" else OFFICIAL_MEMBERS
        prefix = account["screen_name"].split("_")[0]
        site = f"https://{prefix}.krasnodar.ru"
        office_phone = f"+7 (861) {rng.randint(200, 299)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"
        description = texts.OFFICIAL_DESCRIPTION.format(
            name=account["name_ru"],
            remit=texts.BODY_REMITS.get(account["body_code"], ""),
            address=f"ул. {rng.choice(('Красная', 'Северная', 'Рашпилевская', 'Гимназическая'))}, "
            f"{rng.randint(2, 180)}",
            phone=office_phone.removeprefix("+7 (861) "),
            email=f"{prefix}@krasnodar.ru",
            site=site,
        )
        return {
            "id": int(account["account_id"]),
            "name": account["name_ru"],
            "screen_name": account["screen_name"],
            "is_closed": 0,
            "type": "page",
            **_avatar(rng, has_photo=style.has_photo),
            "verified": int(style.verified),
            "members_count": rng.randint(*members_range),
            "activity": "Органы государственной власти",
            "description": description if style.has_description else "",
            "site": site if style.has_site else "",
            "status": "",
            "cover": _cover(rng) if style.has_cover else {"enabled": 0},
            "counters": _counters(rng),
            "contacts": [
                {"desc": "Пресс-служба", "phone": office_phone, "email": f"press.{prefix}@krasnodar.ru"}
            ],
            "wall": 2 if style.comments_open else 3,
            "can_post": 0,
            **VIEWER_FIELDS,
        }

    def _pinned_post(self, wall: _Wall) -> None:
        age = timedelta(days=self.rng.randint(*PINNED_POST_AGE_DAYS))
        at = self._moment(self.start - age, OFFICIAL_HOUR_WEIGHTS)
        if wall.is_official:
            text = texts.OFFICIAL_PINNED_POST.format(name=wall.group["name"])
            truth = _Truth(kind="official_post")
        else:
            text = texts.COMMUNITY_RULES_POST.format(name=wall.group["name"])
            truth = _Truth(kind="news")
        post = self._add_post(wall, wall.owner_id, at, text, truth)
        post.is_pinned = True

    # posts of the communities and of the official accounts

    def _community_news(self, day: date) -> None:
        for wall in self.walls.values():
            if wall.is_official:
                continue
            for _ in range(self.rng.randint(*NEWS_POSTS_PER_COMMUNITY_PER_DAY)):
                at = self._moment(day, NEWS_HOUR_WEIGHTS)
                place = self._place(wall.municipality_code)
                template = self.rng.choice(texts.NEWS_TEMPLATES)
                slots = self._slots(place, at)
                truth = _Truth(kind="news", **self._named_place(template, place))
                self._add_post(wall, wall.owner_id, at, _capitalize(template.format(**slots)), truth)

    def _official_posts(self, day: date) -> None:
        rng = self.rng
        for wall in self.walls.values():
            if wall.account is None or wall.style is None or rng.random() >= wall.style.posting_day_share:
                continue
            count = rng.randint(*wall.style.posts_per_day)
            if not self.clock.is_working_day(day) and wall.account["tier"] != "administration":
                count = count if rng.random() < OFFICIAL_WEEKEND_POSTING_SHARE else 0
            templates = texts.OFFICIAL_POST_TEMPLATES.get(
                wall.account["body_code"], texts.GENERIC_OFFICIAL_POSTS
            )
            for _ in range(count):
                at = self._moment(day, OFFICIAL_HOUR_WEIGHTS)
                place = self._place(None)
                template = rng.choice(templates)
                truth = _Truth(kind="official_post", **self._named_place(template, place))
                text = _capitalize(template.format(**self._slots(place, at)))
                post = self._add_post(wall, wall.owner_id, at, text, truth)
                post.comments_open = wall.style.comments_open

    # citizens

    def _citizen_day(self, day: date) -> None:
        rng = self.rng
        moments = sorted(
            self._moment(day, CITIZEN_HOUR_WEIGHTS, friday_evening_boost=True)
            for _ in range(rng.randint(*CITIZEN_MESSAGES_PER_DAY))
        )
        kinds, weights = zip(*CITIZEN_KIND_WEIGHTS.items(), strict=True)
        for at in moments:
            kind = rng.choices(kinds, weights)[0]
            author = rng.choices(self.citizens, self.citizen_weights)[0]
            if kind == "duplicate" and self._duplicate(author, at):
                continue
            if kind == "thread_chatter" and self._thread_chatter(author, at):
                continue
            if kind in ("incident", "duplicate"):
                self._incident(author, at)
            else:
                self._noise("chat" if kind == "thread_chatter" else kind, author, at)

    def _incident(self, author: int, at: datetime) -> None:
        rng = self.rng
        category = self._next_category()
        default_account = self.account_by_body.get(self.ref.default_body[category])
        if rng.random() < INCIDENT_ON_OFFICIAL_WALL_SHARE:
            account = default_account or self.account_by_body.get("administration")
            wall = self.walls[-int(account["account_id"])] if account else None
            post = self._recent_post(wall, at) if wall else None
            if post is not None and account is not None:
                place = self._place(None)
                text, slots, final_answer = self._incident_text(category, place, at)
                truth = self._incident_truth(category, place)
                comment = self._add_comment(post, author, at, text, truth, slots)
                comment.final_answer = final_answer
                self.incidents.append((comment, account))
                return
        wall = self._community_wall()
        place = self._place(wall.municipality_code)
        text, slots, final_answer = self._incident_text(category, place, at)
        message = self._citizen_message_on(
            wall, author, at, text, self._incident_truth(category, place), slots
        )
        message.final_answer = final_answer
        self.incidents.append((message, default_account))

    def _incident_truth(self, category: str, place: _Place) -> _Truth:
        return _Truth(
            kind="incident",
            is_incident=True,
            category_code=category,
            municipality_code=place.municipality_code,
            place_mention=place.mention,
        )

    def _duplicate(self, author: int, at: datetime) -> bool:
        """The same complaint again by the same citizen, on the same or another community's wall."""
        originals = [
            m
            for m, _ in self.incidents
            if isinstance(m, _Post) and m.from_id > 0 and at - m.at > timedelta(hours=2)
        ]
        if not originals:
            return False
        original = self.rng.choice(originals)
        text = self.rng.choice(texts.REPEAT_OPENINGS) + original.text
        truth = _Truth(
            kind="duplicate",
            category_code=original.truth.category_code,
            municipality_code=original.truth.municipality_code,
            place_mention=original.truth.place_mention,
            duplicate_of=original,
        )
        wall = self.walls[original.owner_id] if self.rng.random() < 0.5 else self._community_wall()
        self._add_post(wall, original.from_id, at, text, truth)
        return True

    def _thread_chatter(self, author: int, at: datetime) -> bool:
        """Another citizen reacts under a complaint: a comment under the post or a reply in the thread."""
        recent = [
            m
            for m in self.citizen_messages
            if m.truth.kind in COMPLAINT_KINDS
            and m.from_id != author
            and MIN_COMMENT_DELAY < at - m.at < RECENT_POST_WINDOW
        ]
        if not recent:
            return False
        target = self.rng.choice(recent)
        place = self._place(self.walls[target.owner_id].municipality_code)
        text = _capitalize(self.rng.choice(texts.THREAD_CHATTER).format(**self._slots(place, at)))
        truth = _Truth(kind="chat")
        if isinstance(target, _Post):
            self._add_comment(target, author, at, text, truth)
        else:
            assert isinstance(target, _Comment)
            self._add_comment(target.post, author, at, text, truth, reply_to=target)
        return True

    def _noise(self, kind: str, author: int, at: datetime) -> None:
        rng = self.rng
        wall = self._community_wall()
        place = self._place(wall.municipality_code)
        templates = {
            "ad": texts.AD_TEMPLATES,
            "chat": texts.CHAT_TEMPLATES,
            "out_of_scope": texts.OUT_OF_SCOPE_TEMPLATES,
            "abusive": texts.ABUSIVE_TEMPLATES,
        }[kind]
        template = rng.choice(templates)
        text = _capitalize(template.format(**self._slots(place, at)))
        emoji = {"abusive": texts.ANGRY_EMOJI, "chat": texts.CALM_EMOJI}.get(kind)
        if emoji and rng.random() < STYLE_PROBABILITY["emoji"]:
            text += " " + rng.choice(emoji) * rng.randint(1, 3)
        truth = _Truth(kind=kind, **self._named_place(template, place))
        comment_share = AD_AS_COMMENT_SHARE if kind == "ad" else MESSAGE_AS_COMMENT_SHARE
        self._citizen_message_on(wall, author, at, text, truth, {}, comment_share)

    def _citizen_message_on(
        self,
        wall: _Wall,
        author: int,
        at: datetime,
        text: str,
        truth: _Truth,
        slots: dict[str, str],
        comment_share: float = MESSAGE_AS_COMMENT_SHARE,
    ) -> _Message:
        """A wall post, or a comment under one of the community's recent news posts."""
        if self.rng.random() < comment_share:
            post = self._recent_post(wall, at)
            if post is not None:
                return self._add_comment(post, author, at, text, truth, slots)
        return self._add_post(wall, author, at, text, truth, slots)

    # official answers

    def _answer_incidents(self) -> None:
        rng = self.rng
        outcomes, weights = zip(*ANSWER_OUTCOME_WEIGHTS.items(), strict=True)
        for incident, account in self.incidents:
            outcome = rng.choices(outcomes, weights)[0]
            if account is None or outcome is None:
                continue
            bounds = ON_TIME_WORKING_MINUTES if outcome == "on_time" else LATE_WORKING_MINUTES
            first_at = self._working_moment(incident.at, rng.randint(*bounds))
            if first_at >= self.end:
                continue
            first_is_final = rng.random() < FIRST_ANSWER_IS_FINAL_SHARE
            self._answer(incident, account, first_at, final=first_is_final)
            incident.truth.answered_by = account["body_code"]
            incident.truth.answer_delay_minutes = int((first_at - incident.at).total_seconds() // 60)
            incident.truth.answer_timing = outcome
            if not first_is_final and rng.random() < FINAL_FOLLOWS_INTERMEDIATE_SHARE:
                final_at = self._working_moment(
                    first_at, rng.randint(*FINAL_AFTER_INTERMEDIATE_WORKING_MINUTES)
                )
                if final_at < self.end:
                    self._answer(incident, account, final_at, final=True)

    def _answer(self, incident: _Message, account: dict[str, str], at: datetime, *, final: bool) -> None:
        rng = self.rng
        due = at + timedelta(days=rng.randint(*PROMISE_DAYS))
        slots = {**incident.slots, "date": f"{at:%d.%m}", "time": f"{at:%H:%M}", "due": f"{due:%d.%m}"}
        if final:
            template = incident.final_answer or rng.choice(texts.GENERIC_FINAL_ANSWERS)
        else:
            template = rng.choice(texts.INTERMEDIATE_ANSWERS)
        text = template.format(**slots)
        truth = _Truth(kind="official_answer", answers=incident)
        official_id = -int(account["account_id"])
        if isinstance(incident, _Post):
            answer = self._add_comment(incident, official_id, at, text, truth)
        else:
            assert isinstance(incident, _Comment)
            answer = self._add_comment(incident.post, official_id, at, text, truth, reply_to=incident)
        thanks_at = at + timedelta(minutes=rng.randint(*THANKS_DELAY_MINUTES))
        if rng.random() < THANKS_SHARE and thanks_at < self.end:
            thanks = rng.choice(texts.THANKS_AFTER_ANSWER)
            self._add_comment(
                answer.post, incident.from_id, thanks_at, thanks, _Truth(kind="chat"), reply_to=answer
            )

    # building blocks

    def _add_post(
        self,
        wall: _Wall,
        from_id: int,
        at: datetime,
        text: str,
        truth: _Truth,
        slots: dict[str, str] | None = None,
    ) -> _Post:
        post = _Post(wall.owner_id, from_id, at, text, truth, slots or {})
        post.audience = wall.group["members_count"]
        wall.posts.append(post)
        if from_id > 0:
            self.citizen_messages.append(post)
        return post

    def _add_comment(
        self,
        post: _Post,
        from_id: int,
        at: datetime,
        text: str,
        truth: _Truth,
        slots: dict[str, str] | None = None,
        reply_to: _Comment | None = None,
    ) -> _Comment:
        if reply_to is not None:
            text = f"{self._mention(reply_to.from_id)}, {_decapitalize(text)}"
        comment = _Comment(post.owner_id, from_id, at, text, truth, slots or {}, post=post, reply_to=reply_to)
        if reply_to is None:
            post.comments.append(comment)
        else:
            comment.parent = reply_to.thread_root
            comment.parent.replies.append(comment)
        if from_id > 0:
            self.citizen_messages.append(comment)
        return comment

    def _mention(self, owner_id: int) -> str:
        """How VK starts a reply: «[id123|Анна]» for a person, «[club456|Name]» for a community."""
        if owner_id > 0:
            return f"[id{owner_id}|{self.users[owner_id]['first_name']}]"
        return f"[club{-owner_id}|{self.walls[owner_id].group['name']}]"

    def _recent_post(self, wall: _Wall, at: datetime) -> _Post | None:
        """One of the wall owner's own posts of the last days, open for comments."""
        candidates = [
            p
            for p in wall.posts
            if p.from_id == wall.owner_id
            and p.comments_open
            and MIN_COMMENT_DELAY < at - p.at < RECENT_POST_WINDOW
        ]
        return self.rng.choice(candidates) if candidates else None

    def _community_wall(self) -> _Wall:
        walls = [w for w in self.walls.values() if not w.is_official]
        return self.rng.choices(walls, [w.group["members_count"] for w in walls])[0]

    def _category_deck(self) -> list[str]:
        """The first incidents' categories: drawn by how often people write about each, then the
        categories left out replace repeated ones, so that every category shows up in the first days."""
        codes = list(self.ref.default_body)
        deck = self.rng.choices(codes, self._category_weights(codes), k=CATEGORY_COVERAGE_WINDOW)
        for code in codes:
            if code not in deck:
                counts = Counter(deck)
                repeated = [i for i, c in enumerate(deck) if counts[c] > 1]
                deck[self.rng.choice(repeated)] = code
        deck.reverse()  # popped from the end
        return deck

    def _category_weights(self, codes: list[str]) -> list[int]:
        return [CATEGORY_WEIGHTS.get(c, RARE_CATEGORY_WEIGHT) for c in codes]

    def _next_category(self) -> str:
        if self.category_deck:
            return self.category_deck.pop()
        codes = list(self.ref.default_body)
        return self.rng.choices(codes, self._category_weights(codes))[0]

    def _place(self, municipality_code: str | None) -> _Place:
        """A city or settlement of the municipality (of any municipality for krai-wide walls)."""
        rng = self.rng
        code = municipality_code or rng.choice(sorted(self.ref.municipality_names))
        cities, villages = self.ref.cities.get(code, []), self.ref.settlements.get(code, [])
        if cities and (rng.random() < CITY_MENTION_SHARE or not villages):
            name = rng.choice(cities)
            spots = texts.CITY_SPOTS.get(name, texts.SETTLEMENT_SPOTS)
            return _Place(code, name, texts.CITY_LOCATIVES[name], spots)
        name, kind = rng.choice(villages)
        mention = f"{rng.choice(texts.SETTLEMENT_PREFIXES[kind])} {name}"
        return _Place(code, name, mention, texts.SETTLEMENT_SPOTS)

    def _named_place(self, template: str, place: _Place) -> dict[str, Any]:
        if "{where}" not in template:
            return {}
        return {"municipality_code": place.municipality_code, "place_mention": place.mention}

    def _municipality_title(self, municipality_code: str | None) -> str:
        if municipality_code is None:
            return "Краснодарский край"
        cities = self.ref.cities.get(municipality_code)
        return cities[0] if cities else self.ref.municipality_names[municipality_code]

    def _slots(self, place: _Place, at: datetime) -> dict[str, str]:
        rng = self.rng
        return {
            "where": place.mention,
            "place": place.name,
            "spot": rng.choice(place.spots),
            "admin": self.ref.administration_accusative(place.municipality_code),
            "route": str(rng.choice(BUS_ROUTES)),
            "house": f"{rng.randint(1, 180)}{rng.choice(('', '', '', '/1', 'А', 'Б'))}",
            "minutes": str(rng.choice(AMBULANCE_MINUTES)),
            "temperature": str(rng.randint(4, 16)),
            "count": str(rng.randint(3, 60)),
            "seats": str(rng.choice((80, 120, 160, 220, 280, 350))),
            "price": f"{rng.randint(2, 90) * 500:,}".replace(",", " "),
            "fare": str(rng.choice((38, 40, 42, 45, 50))),
            "phone": _phone(rng),
            "item": rng.choice(texts.AD_ITEMS),
            "shop": rng.choice(texts.AD_SHOPS),
            "prize": rng.choice(texts.AD_PRIZES),
            "date": f"{at:%d.%m}",
            "time": f"{at:%H:%M}",
            "due": f"{at + timedelta(days=rng.randint(*PROMISE_DAYS)):%d.%m}",
        }

    def _incident_text(self, category: str, place: _Place, at: datetime) -> tuple[str, dict[str, str], str]:
        """A complaint in the way people write them (openings, caps, typos, emoji, hashtags, mentions),
        its slots, and the final answer that resolves it."""
        rng = self.rng
        style_names, style_weights = zip(*SLOPPY_STYLE_WEIGHTS.items(), strict=True)
        style = rng.choices(style_names, style_weights)[0]
        choice = rng.randrange(len(texts.INCIDENT_TEMPLATES[category]))
        template = texts.INCIDENT_TEMPLATES[category][choice]
        if style == "colloquial":
            template = _colloquial(template, rng)
        slots = self._slots(place, at)
        text = _capitalize(template.format(**slots))
        if rng.random() < STYLE_PROBABILITY["opening"]:
            opening = rng.choice(texts.INCIDENT_OPENINGS)
            text = opening + (_decapitalize(text) if opening.endswith((", ", ": ")) else text)
        if rng.random() < STYLE_PROBABILITY["closing"]:
            text = _end_sentence(text) + rng.choice(texts.INCIDENT_CLOSINGS)
        if style == "lowercase":
            text = text.lower().rstrip(".!?")
        elif style == "caps":
            text = text.upper()
        elif style == "exclaim":
            text = text.rstrip(".!?") + rng.choice(("!!!", "!!!!!", "?!?!", "???"))
        if rng.random() < STYLE_PROBABILITY["mention"]:
            body = self.ref.default_body[category]
            account = self.account_by_body.get(body) or self.account_by_body.get("administration")
            if account:
                text = f"[club{account['account_id']}|{account['name_ru']}], {_decapitalize(text)}"
        if rng.random() < STYLE_PROBABILITY["emoji"]:
            text += " " + rng.choice(texts.ANGRY_EMOJI) * rng.randint(1, 3)
        if rng.random() < STYLE_PROBABILITY["hashtags"]:
            tag = "#" + re.sub(r"[\s\-]", "", place.name)
            text += f"\n\n{tag} {texts.CATEGORY_HASHTAGS.get(category, '#помогите')}"
        return text, slots, texts.FINAL_ANSWERS[category][choice]

    def _moment(
        self, day: date, hour_weights: Sequence[int], *, friday_evening_boost: bool = False
    ) -> datetime:
        weights = list(hour_weights)
        if friday_evening_boost and day.weekday() == FRIDAY:
            for hour in FRIDAY_EVENING_HOURS:
                weights[hour] *= FRIDAY_EVENING_BOOST
        hour = self.rng.choices(range(24), weights)[0]
        return datetime.combine(day, time(hour, self.rng.randint(0, 59), self.rng.randint(0, 59)), MOSCOW)

    def _working_moment(self, after: datetime, working_minutes: int) -> datetime:
        return self.clock.add(after, working_minutes) + timedelta(seconds=self.rng.randint(0, 59))

    # the VK objects

    def _finish(self) -> World:
        for wall in self.walls.values():
            self._number_wall(wall)
        posts: dict[int, list[dict[str, Any]]] = {}
        comments: dict[tuple[int, int], list[dict[str, Any]]] = {}
        messages: list[_Message] = []
        for owner_id, wall in self.walls.items():
            ordered = sorted(wall.posts, key=lambda p: p.item_id, reverse=True)
            posts[owner_id] = [self._post_object(p) for p in ordered]
            for post in ordered:
                messages.extend((post, *post.all_comments()))
                if post.comments:
                    comments[(owner_id, post.item_id)] = [self._comment_object(c) for c in post.comments]
            pinned = next(p for p in wall.posts if p.is_pinned)
            wall.group["fixed_post"] = pinned.item_id
        messages.sort(key=lambda m: (m.at, m.owner_id, m.item_id))
        return World(
            start=self.start,
            days=self.days,
            vk_groups={-owner_id: wall.group for owner_id, wall in self.walls.items()},
            vk_users=self.users,
            vk_posts=posts,
            vk_comments=comments,
            labels=[_label(m) for m in messages],
        )

    def _number_wall(self, wall: _Wall) -> None:
        """Posts and comments of one wall share one growing id sequence, as in VK."""
        items: list[_Message] = [m for p in wall.posts for m in (p, *p.all_comments())]
        items.sort(key=lambda m: m.at)
        next_id = self.rng.randint(*FIRST_WALL_ID)
        for item in items:
            item.item_id = next_id
            gap = POSTS_BEFORE_PERIOD if item.at < datetime.combine(self.start, time(0), MOSCOW) else (1, 3)
            next_id += self.rng.randint(*gap)

    def _post_object(self, post: _Post) -> dict[str, Any]:
        rng = self.rng
        views = max(1, int(post.audience * rng.uniform(*VIEWS_PER_MEMBER)))
        likes = int(views * rng.uniform(*LIKES_PER_VIEW))
        reposts = int(likes * rng.uniform(*REPOSTS_PER_LIKE))
        obj: dict[str, Any] = {
            "inner_type": "wall_wallpost",
            "id": post.item_id,
            "owner_id": post.owner_id,
            "from_id": post.from_id,
            "date": int(post.at.timestamp()),
            "text": post.text,
            "post_type": "post",
            "type": "post",
            "attachments": [],
            "comments": {
                "can_post": int(post.comments_open),
                "count": len(post.all_comments()),
                "groups_can_post": True,
            },
            "likes": {
                "can_like": 1,
                "count": likes,
                "user_likes": 0,
                "can_publish": 1,
                "repost_disabled": False,
            },
            "reposts": {"count": reposts, "wall_count": reposts, "mail_count": 0, "user_reposted": 0},
            "views": {"count": views},
            "post_source": {"type": "vk"} if post.from_id < 0 else {"type": "api", "platform": "android"},
            "donut": {"is_donut": False},
            "is_favorite": False,
            "marked_as_ads": 0,
            "hash": _token(rng, 22),
        }
        if post.is_pinned:
            obj["is_pinned"] = 1
        return obj

    def _comment_object(self, comment: _Comment) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": comment.item_id,
            "from_id": comment.from_id,
            "date": int(comment.at.timestamp()),
            "text": comment.text,
            "post_id": comment.post.item_id,
            "owner_id": comment.owner_id,
            "parents_stack": [comment.parent.item_id] if comment.parent else [],
            "likes": {
                "can_like": 1,
                "count": self.rng.choice((0, 0, 0, 1, 2, 5, 12)),
                "user_likes": 0,
                "can_publish": 1,
            },
        }
        if comment.parent is not None:
            assert comment.reply_to is not None
            obj["reply_to_user"] = comment.reply_to.from_id
            obj["reply_to_comment"] = comment.reply_to.item_id
        else:
            obj["thread"] = {
                "count": len(comment.replies),
                "items": [self._comment_object(r) for r in comment.replies],
                "can_post": comment.post.comments_open,
                "show_reply_button": True,
                "groups_can_post": True,
            }
        return obj


def _label(message: _Message) -> dict[str, Any]:
    truth = message.truth
    return {
        "source_message_key": message.source_message_key,
        "kind": truth.kind,
        "is_incident": truth.is_incident,
        "category_code": truth.category_code,
        "municipality_code": truth.municipality_code,
        "place_mention": truth.place_mention,
        "answered_by": truth.answered_by,
        "answer_delay_minutes": truth.answer_delay_minutes,
        "answer_timing": truth.answer_timing,
        "answers_key": truth.answers.source_message_key if truth.answers else None,
        "duplicate_of": truth.duplicate_of.source_message_key if truth.duplicate_of else None,
        "published_at": int(message.at.timestamp()),
    }


# --- small helpers ----------------------------------------------------------------------------------


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _end_sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def _decapitalize(text: str) -> str:
    if len(text) > 1 and text[1].isupper():  # an abbreviation or shouting: keep it
        return text
    return text[:1].lower() + text[1:]


def _colloquial(template: str, rng: random.Random) -> str:
    """Spell some words the way people type them; slots ({where}…) are Latin and stay intact."""

    def respell(match: re.Match[str]) -> str:
        word = match.group(0)
        spelled = texts.COLLOQUIAL_SPELLINGS.get(word.lower())
        if spelled and rng.random() < 0.7:
            return spelled.capitalize() if word[0].isupper() else spelled
        if len(word) >= 7 and rng.random() < 0.15:  # a typo: two letters swapped
            i = rng.randint(1, len(word) - 3)
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        return word

    return _CYRILLIC_WORD.sub(respell, template)


def _token(rng: random.Random, length: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
    return "".join(rng.choice(alphabet) for _ in range(length))


def _photo_url(rng: random.Random) -> str:
    """A userapi.com photo URL with `{size}` and `{kind}` left to fill."""
    return (
        f"https://sun{rng.randint(1, 9)}-{rng.randint(10, 99)}.userapi.com/impg/{_token(rng, 40)}/"
        f"{_token(rng, 11)}.jpg?size={{size}}x{{size}}&quality=95&sign={rng.getrandbits(128):032x}"
        "&type={kind}"
    )


def _avatar(rng: random.Random, *, has_photo: bool) -> dict[str, Any]:
    if not has_photo:
        return {f"photo_{s}": NO_PHOTO_URL.format(size=s) for s in (50, 100, 200)} | {"has_photo": 0}
    url = _photo_url(rng)
    return {f"photo_{s}": url.format(size=s, kind="avatar") for s in (50, 100, 200)} | {"has_photo": 1}


def _cover(rng: random.Random) -> dict[str, Any]:
    url = _photo_url(rng)
    images = [
        {"url": url.replace("{size}x{size}", f"{w}x{h}").format(kind="cover"), "width": w, "height": h}
        for w, h in COVER_SIZES
    ]
    return {"enabled": 1, "images": images}


def _counters(rng: random.Random) -> dict[str, int]:
    return {
        "photos": rng.randint(50, 20_000),
        "albums": rng.randint(1, 40),
        "topics": rng.randint(0, 30),
        "videos": rng.randint(0, 3_000),
        "articles": rng.randint(0, 200),
        "clips": rng.randint(0, 500),
    }


def _phone(rng: random.Random) -> str:
    return f"+7 9{rng.randint(10, 89)} {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"
