"""A deterministic Telegram and OK world for the sandbox: channels, groups, posts, threads, answers and
ground truth.

`generate_social_world(start, days, seed)` writes, for each day, what Kuban's local Telegram news
channels and OK groups publish (news, readers' complaints, ads), what citizens write under them
(complaints naming real places, chatter, ads, complaints about federal bodies, insults), and how the
official channels and groups of the krai's bodies post and answer in the threads.

- Telegram messages are real `telethon.tl.types.Message` objects, as Telethon returns them: a post in
  the channel, and its discussion thread in the linked group (the group's copy of the post, the
  "root", then the replies). Official bodies answer as their channel (`from_id` = `PeerChannel`).
- OK objects are dicts in the API's shapes: group.getInfo groups, mediatopic.getTopics topics and
  discussions.getComments comments. Official groups answer as the group (`author_type` "GROUP").

The channels and groups are fixed (`TELEGRAM_CHANNELS`, `OK_GROUPS`); `registry_rows()` gives the rows
that the registry needs for them. Every message has a label (the ground truth) keyed by its
`source_message_key`. Nothing reads the clock or the global random generator: the same (start, days,
seed) always gives the same world, a snapshot taken at midnight (Moscow) after the last day.
"""

from __future__ import annotations

import base64
import csv
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from telethon.tl import types

from socmon.calendar import add_working_minutes
from socmon.config import settings
from socmon.constants import MOSCOW
from socmon_sandbox import texts

# --- the accounts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """A Telegram channel or an OK group of the sandbox, as the registry describes it."""

    platform: str  # telegram | ok
    external_id: str  # the bare Telegram channel id, or the OK group id
    screen_name: str
    name_ru: str
    municipality_code: str | None = None  # monitored communities
    body_code: str | None = None  # official accounts
    tier: str | None = None  # official accounts: administration | executive_body
    discussion_id: int | None = None  # Telegram: the linked discussion group, when comments are on

    @property
    def source_id(self) -> str:
        return f"{self.platform}:{self.external_id}"

    @property
    def is_official(self) -> bool:
        return self.body_code is not None


TELEGRAM_CHANNELS: tuple[Account, ...] = (
    Account("telegram", "1700000001", "krd_live_news", "Краснодар Live | Новости", "krasnodar",
            discussion_id=1900000001),
    Account("telegram", "1700000002", "sochi_segodnya", "Сочи сегодня", "sochi", discussion_id=1900000002),
    Account("telegram", "1700000003", "novoross_online", "Новороссийск Онлайн", "novorossiysk",
            discussion_id=1900000003),
    Account("telegram", "1700000004", "armavir_24", "Армавир 24", "armavir"),  # comments are off
    Account("telegram", "1700000005", "chp_kuban", "ЧП Кубань", None, discussion_id=1900000005),
    Account("telegram", "1800000001", "admkrai_official", "Администрация Краснодарского края",
            body_code="administration", tier="administration", discussion_id=1900000101),
    Account("telegram", "1800000002", "mintrans_kuban",
            "Министерство транспорта и дорожного хозяйства Краснодарского края", body_code="mintrans",
            tier="executive_body", discussion_id=1900000102),
    Account("telegram", "1800000003", "mintek_kuban", "Минтопэнерго Кубани", body_code="mintek",
            tier="executive_body", discussion_id=1900000103),  # not the body's official name
    Account("telegram", "1800000004", "minzdrav_kuban", "Министерство здравоохранения Краснодарского края",
            body_code="minzdrav", tier="executive_body"),  # no discussion group
)  # fmt: skip

OK_GROUPS: tuple[Account, ...] = (
    Account("ok", "70000000000001", "podslushano.krasnodar", "Подслушано Краснодар", "krasnodar"),
    Account("ok", "70000000000002", "eysk.nash.gorod", "Ейск — наш город", "yeysky"),
    Account("ok", "70000000000003", "kropotkin.online", "Кропоткин Онлайн", "kavkazsky"),
    Account("ok", "70000000000004", "anapa.zhiteli", "Жители Анапы", "anapa"),
    Account("ok", "70000000000101", "admkrai", "Администрация Краснодарского края",
            body_code="administration", tier="administration"),
    Account("ok", "70000000000102", "mintrans.kuban",
            "Министерство транспорта и дорожного хозяйства Краснодарского края", body_code="mintrans",
            tier="executive_body"),
    Account("ok", "70000000000103", "mintek.kuban",
            "Министерство топливно-энергетического комплекса и жилищно-коммунального хозяйства "
            "Краснодарского края", body_code="mintek", tier="executive_body"),
    Account("ok", "70000000000104", "gzhi.kuban", "Государственная жилищная инспекция Краснодарского края",
            body_code="gzhi", tier="executive_body"),
)  # fmt: skip


def registry_rows() -> dict[str, list[dict[str, str]]]:
    """The rows of `monitored_communities.csv` and `official_accounts.csv` for the sandbox's accounts."""
    communities, officials = [], []
    for account in (*TELEGRAM_CHANNELS, *OK_GROUPS):
        if account.is_official:
            officials.append(
                {
                    "account_key": account.source_id,
                    "platform": account.platform,
                    "account_id": account.external_id,
                    "screen_name": account.screen_name,
                    "body_code": account.body_code or "",
                    "tier": account.tier or "",
                    "name_ru": account.name_ru,
                }
            )
        else:
            communities.append(
                {
                    "source_id": account.source_id,
                    "platform": account.platform,
                    "community_id": account.external_id,
                    "screen_name": account.screen_name,
                    "name_ru": account.name_ru,
                    "municipality_code": account.municipality_code or "",
                }
            )
    return {"monitored_communities.csv": communities, "official_accounts.csv": officials}


# --- how much, and when -----------------------------------------------------------------------------

NEWS_POSTS_PER_DAY = (3, 5)
READER_COMPLAINT_POSTS_PER_DAY = (1, 3)
USER_TOPICS_PER_DAY = (1, 3)  # OK: members of a community group post topics of their own
OFFICIAL_POSTS_PER_DAY = (1, 3)
AD_POST_SHARE = 0.4
COMMENTED_POST_SHARE = 0.6
COMMENTS_PER_POST = (1, 6)
COMMENT_DELAY_MINUTES = (3, 600)
COMMENT_KIND_WEIGHTS = {"chat": 40, "incident": 37, "ad": 8, "out_of_scope": 10, "abusive": 5}
CATEGORY_WEIGHTS = {
    "roads": 6, "utilities": 6, "improvement": 4, "waste": 3, "public_transport": 3,
    "housing_management": 3, "healthcare": 3, "education": 2,
}  # fmt: skip
ANSWER_OUTCOME_WEIGHTS = {"on_time": 40, "late": 30, None: 30}
ON_TIME_WORKING_MINUTES = (15, 180)
LATE_WORKING_MINUTES = (570, 1200)  # the first-answer deadline is 8 working hours (480 minutes)
FINAL_FOLLOWS_INTERMEDIATE_SHARE = 0.5
FINAL_AFTER_INTERMEDIATE_WORKING_MINUTES = (240, 1800)
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 6, 7, 8, 8, 8, 8, 8, 8, 8, 7, 7, 8, 8, 7, 5, 3)
OFFICIAL_HOUR_WEIGHTS = (0, 0, 0, 0, 0, 0, 0, 0, 1, 4, 6, 6, 5, 4, 6, 6, 5, 4, 2, 1, 0, 0, 0, 0)
SUBSCRIBERS = (8_000, 250_000)
USER_POOL_SIZE = 200

CITY_OF_MUNICIPALITY = {
    "krasnodar": "Краснодар", "sochi": "Сочи", "novorossiysk": "Новороссийск", "armavir": "Армавир",
    "kavkazsky": "Кропоткин", "anapa": "Анапа", "yeysky": "Ейск",
}  # fmt: skip
ADMINISTRATION_ACCUSATIVE = {
    "krasnodar": "администрацию Краснодара", "sochi": "администрацию Сочи",
    "novorossiysk": "администрацию Новороссийска", "armavir": "администрацию Армавира",
    "kavkazsky": "администрацию Кавказского района", "anapa": "администрацию Анапы",
    "yeysky": "администрацию Ейского района",
}  # fmt: skip
READER_INTROS = ("📩 Пишет подписчик:", "📩 Сообщение от подписчицы:", "Жители жалуются:", "Нам пишут:")
"""How a Telegram news channel introduces a complaint that a reader sent in."""
BUS_ROUTES = (3, 5, 7, 9, 12, 15, 21, 27, 33, 44, 55, 101, 115)
TELEGRAM_USER_IDS = (100_000_000, 7_999_999_999)
OK_USER_IDS = (500_000_000_000, 599_999_999_999)


# --- what the world holds ---------------------------------------------------------------------------


@dataclass
class TelegramThread:
    """A post's discussion thread: the discussion group's copy of the post, then the replies."""

    root: types.Message
    replies: list[types.Message]  # oldest first


@dataclass
class TelegramChannel:
    account: Account
    entity: types.Channel
    full: types.ChannelFull
    discussion: types.Channel | None
    posts: list[types.Message]  # oldest first
    threads: dict[int, TelegramThread]  # post id → its thread


@dataclass
class OkGroup:
    account: Account
    info: dict[str, Any]  # a group.getInfo group with every field
    topics: list[dict[str, Any]]  # mediatopic.getTopics topics, newest first
    comments: dict[str, list[dict[str, Any]]]  # topic id → discussions.getComments comments, oldest first


@dataclass(frozen=True)
class SocialWorld:
    """The generated Telegram and OK data as the APIs return them, and the ground truth of each message."""

    start: date
    days: int
    telegram: dict[int, TelegramChannel]  # bare channel id → channel
    ok_groups: dict[str, OkGroup]  # group id → group
    ok_users: dict[str, dict[str, Any]]  # user id → the user as `entities.users` lists it
    labels: list[dict[str, Any]]  # one per message, in publication order

    @property
    def end(self) -> datetime:
        """The moment the snapshot is taken: midnight in Moscow after the last day."""
        return datetime.combine(self.start + timedelta(days=self.days), time(0), MOSCOW)


def generate_social_world(start: date, days: int, seed: int = 449) -> SocialWorld:
    """Generate `days` days of Telegram and OK activity from `start` (Moscow time)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    return _Builder(start, days, random.Random(seed)).build()


# --- drafts: messages before they get platform ids --------------------------------------------------


@dataclass(eq=False)
class _Truth:
    kind: str
    is_incident: bool = False
    category_code: str | None = None
    municipality_code: str | None = None
    place_mention: str | None = None
    answered_by: str | None = None
    answer_delay_minutes: int | None = None
    answer_timing: str | None = None
    answers: _Draft | None = None


@dataclass(eq=False)
class _Draft:
    """A post, topic or comment. `author` is "account" (the home account itself), "user:<id>" or an
    official account answering as itself."""

    home: Account
    at: datetime
    text: str
    author: str | Account
    truth: _Truth
    slots: dict[str, str] = field(default_factory=dict)
    post: _Draft | None = None  # for a comment: the post or topic it is under
    reply_to: _Draft | None = None  # for a comment: the comment it answers
    comments: list[_Draft] = field(default_factory=list)  # for a post: every comment, any level
    item_id: int | str = 0
    peer_id: int = 0  # Telegram: the channel, or its discussion group for a comment
    root_id: int = 0  # Telegram: the id of the post's copy in the discussion group


@dataclass(frozen=True)
class _Place:
    municipality_code: str
    city: str

    @property
    def mention(self) -> str:
        return texts.CITY_LOCATIVES[self.city]


class _Slots(dict[str, str]):
    """Template slots; a slot the generator does not know is left empty rather than failing."""

    def __missing__(self, key: str) -> str:
        return ""


class _Builder:
    def __init__(self, start: date, days: int, rng: random.Random) -> None:
        self.start, self.days, self.rng = start, days, rng
        self.end = datetime.combine(start + timedelta(days=days), time(0), MOSCOW)
        self.clock = _WorkingClock()
        self.default_body = _default_bodies()
        self.categories = [c for c in CATEGORY_WEIGHTS if c in texts.INCIDENT_TEMPLATES]
        self.posts: dict[Account, list[_Draft]] = {a: [] for a in (*TELEGRAM_CHANNELS, *OK_GROUPS)}
        self.incidents: list[_Draft] = []
        self.telegram_users = [rng.randint(*TELEGRAM_USER_IDS) for _ in range(USER_POOL_SIZE)]
        self.ok_users = {str(rng.randint(*OK_USER_IDS)): self._ok_user() for _ in range(USER_POOL_SIZE)}

    def build(self) -> SocialWorld:
        for offset in range(self.days):
            day = self.start + timedelta(days=offset)
            for account in (*TELEGRAM_CHANNELS, *OK_GROUPS):
                if account.is_official:
                    self._official_day(account, day)
                else:
                    self._community_day(account, day)
        for posts in self.posts.values():
            for post in posts:
                self._comment(post)
        self._answer_incidents()
        return self._finish()

    # --- what is published -------------------------------------------------------------------------

    def _community_day(self, account: Account, day: date) -> None:
        rng = self.rng
        for _ in range(rng.randint(*NEWS_POSTS_PER_DAY)):
            place = self._place(account.municipality_code)
            text = _fill(rng.choice(texts.NEWS_TEMPLATES), self._slots(place, self._moment(day)))
            self._post(account, day, text, "account", _Truth("news", **_named(place)))
        complaints = READER_COMPLAINT_POSTS_PER_DAY if account.platform == "telegram" else USER_TOPICS_PER_DAY
        for _ in range(rng.randint(*complaints)):
            at = self._moment(day)
            category, place = self._category(), self._place(account.municipality_code)
            text, slots = self._incident_text(category, place, at)
            truth = self._incident_truth(category, place)
            if account.platform == "telegram":  # the channel publishes what a reader sent
                text, author = f"{rng.choice(READER_INTROS)}\n\n«{text}»", "account"
            else:  # an OK group member posts a topic of their own
                author = f"user:{rng.choice(list(self.ok_users))}"
            self.incidents.append(self._post(account, day, text, author, truth, slots, at))
        if rng.random() < AD_POST_SHARE:
            place = self._place(account.municipality_code)
            text = "#реклама " + _fill(rng.choice(texts.AD_TEMPLATES), self._slots(place, self._moment(day)))
            self._post(account, day, text, "account", _Truth("ad"))

    def _official_day(self, account: Account, day: date) -> None:
        rng = self.rng
        templates = texts.OFFICIAL_POST_TEMPLATES.get(account.body_code or "", texts.GENERIC_OFFICIAL_POSTS)
        for _ in range(rng.randint(*OFFICIAL_POSTS_PER_DAY)):
            at = self._moment(day, OFFICIAL_HOUR_WEIGHTS)
            place = self._place(None)
            text = _fill(rng.choice(templates), self._slots(place, at))
            self._post(account, day, text, "account", _Truth("official_post"), at=at)

    def _post(
        self,
        account: Account,
        day: date,
        text: str,
        author: str,
        truth: _Truth,
        slots: dict[str, str] | None = None,
        at: datetime | None = None,
    ) -> _Draft:
        draft = _Draft(account, at or self._moment(day), text, author, truth, slots or {})
        self.posts[account].append(draft)
        return draft

    def _comment(self, post: _Draft) -> None:
        """Citizens under a post: chatter, their own complaints, ads, out-of-scope and abusive messages."""
        rng = self.rng
        account = post.home
        if account.platform == "telegram" and account.discussion_id is None:
            return
        if rng.random() > COMMENTED_POST_SHARE:
            return
        kinds, weights = zip(*COMMENT_KIND_WEIGHTS.items(), strict=True)
        for _ in range(rng.randint(*COMMENTS_PER_POST)):
            at = post.at + timedelta(minutes=rng.randint(*COMMENT_DELAY_MINUTES), seconds=rng.randint(0, 59))
            if at >= self.end:
                continue
            kind = rng.choices(kinds, weights)[0]
            place = self._place(account.municipality_code)
            author = self._citizen(account)
            if kind == "incident":
                category = self._category(account.body_code)
                text, slots = self._incident_text(category, place, at)
                truth = self._incident_truth(category, place)
                self.incidents.append(self._add_comment(post, at, text, author, truth, slots))
                continue
            templates = {
                "chat": texts.THREAD_CHATTER,
                "ad": texts.AD_TEMPLATES,
                "out_of_scope": texts.OUT_OF_SCOPE_TEMPLATES,
                "abusive": texts.ABUSIVE_TEMPLATES,
            }[kind]
            text = _capitalize(_fill(rng.choice(templates), self._slots(place, at)))
            earlier = [c for c in post.comments if c.at < at]
            reply_to = rng.choice(earlier) if kind == "chat" and earlier else None
            truth = _Truth(kind, **(_named(place) if kind != "chat" else {}))
            self._add_comment(post, at, text, author, truth, reply_to=reply_to)

    def _add_comment(
        self,
        post: _Draft,
        at: datetime,
        text: str,
        author: str | Account,
        truth: _Truth,
        slots: dict[str, str] | None = None,
        reply_to: _Draft | None = None,
    ) -> _Draft:
        draft = _Draft(post.home, at, text, author, truth, slots or {}, post=post, reply_to=reply_to)
        post.comments.append(draft)
        return draft

    # --- answers -----------------------------------------------------------------------------------

    def _answer_incidents(self) -> None:
        rng = self.rng
        outcomes, weights = zip(*ANSWER_OUTCOME_WEIGHTS.items(), strict=True)
        for incident in sorted(self.incidents, key=lambda d: d.at):
            post = incident.post or incident
            if post.home.platform == "telegram" and post.home.discussion_id is None:
                continue  # nowhere to answer: comments are off
            answerer = self._answerer(incident)
            outcome = rng.choices(outcomes, weights)[0]
            if outcome is None:
                continue
            bounds = ON_TIME_WORKING_MINUTES if outcome == "on_time" else LATE_WORKING_MINUTES
            first_at = self._working_moment(incident.at, rng.randint(*bounds))
            if first_at >= self.end:
                continue
            final_first = outcome == "on_time" and rng.random() < 0.4
            self._answer(incident, answerer, first_at, final=final_first)
            incident.truth.answered_by = answerer.body_code
            incident.truth.answer_delay_minutes = int((first_at - incident.at).total_seconds() // 60)
            incident.truth.answer_timing = outcome
            if not final_first and rng.random() < FINAL_FOLLOWS_INTERMEDIATE_SHARE:
                final_at = self._working_moment(
                    first_at, rng.randint(*FINAL_AFTER_INTERMEDIATE_WORKING_MINUTES)
                )
                if final_at < self.end:
                    self._answer(incident, answerer, final_at, final=True)

    def _answerer(self, incident: _Draft) -> Account:
        """The responsible body's account on the same platform; else the administration's (ЦУР answers)."""
        home = (incident.post or incident).home
        body = self.default_body.get(incident.truth.category_code or "", "administration")
        if home.is_official and home.body_code in (body, "administration"):
            return home
        accounts = TELEGRAM_CHANNELS if home.platform == "telegram" else OK_GROUPS
        by_body = {a.body_code: a for a in accounts if a.is_official}
        return by_body.get(body) or by_body["administration"]

    def _answer(self, incident: _Draft, answerer: Account, at: datetime, *, final: bool) -> None:
        rng = self.rng
        category = incident.truth.category_code or ""
        due = at + timedelta(days=rng.randint(5, 30))
        place = self._place(incident.truth.municipality_code)
        slots = _Slots({**self._slots(place, at), **incident.slots})
        slots |= {"date": f"{at:%d.%m}", "time": f"{at:%H:%M}", "due": f"{due:%d.%m}"}
        if final:
            template = rng.choice(texts.FINAL_ANSWERS.get(category, texts.GENERIC_FINAL_ANSWERS))
        else:
            template = rng.choice(texts.INTERMEDIATE_ANSWERS)
        truth = _Truth("official_answer", answers=incident)
        post = incident.post or incident
        reply_to = incident if incident.post else None
        self._add_comment(post, at, template.format_map(slots), answerer, truth, reply_to=reply_to)

    def _working_moment(self, after: datetime, working_minutes: int) -> datetime:
        return self.clock.add(after, working_minutes) + timedelta(seconds=self.rng.randint(0, 59))

    # --- text --------------------------------------------------------------------------------------

    def _incident_text(self, category: str, place: _Place, at: datetime) -> tuple[str, dict[str, str]]:
        rng = self.rng
        slots = self._slots(place, at)
        text = _capitalize(_fill(rng.choice(texts.INCIDENT_TEMPLATES[category]), slots))
        if rng.random() < 0.3:
            text = rng.choice(texts.INCIDENT_OPENINGS) + text
        if rng.random() < 0.3:
            text = text.rstrip(".!? ") + "." + rng.choice(texts.INCIDENT_CLOSINGS)
        if rng.random() < 0.2:
            text += " " + rng.choice(texts.ANGRY_EMOJI)
        return text, dict(slots)

    def _incident_truth(self, category: str, place: _Place) -> _Truth:
        return _Truth("incident", is_incident=True, category_code=category, **_named(place))

    def _slots(self, place: _Place, at: datetime) -> _Slots:
        rng = self.rng
        spots = texts.CITY_SPOTS.get(place.city) or texts.SETTLEMENT_SPOTS
        return _Slots(
            where=place.mention,
            place=place.city,
            spot=rng.choice(spots),
            admin=ADMINISTRATION_ACCUSATIVE[place.municipality_code],
            route=str(rng.choice(BUS_ROUTES)),
            house=str(rng.randint(1, 180)),
            minutes=str(rng.choice((40, 50, 70, 90))),
            temperature=str(rng.randint(4, 16)),
            count=str(rng.randint(3, 60)),
            seats=str(rng.choice((80, 160, 280))),
            price=f"{rng.randint(2, 90) * 500:,}".replace(",", " "),
            fare=str(rng.choice((40, 42, 45))),
            phone=_phone(rng),
            item=rng.choice(texts.AD_ITEMS),
            shop=rng.choice(texts.AD_SHOPS),
            prize=rng.choice(texts.AD_PRIZES),
            date=f"{at:%d.%m}",
            time=f"{at:%H:%M}",
            due=f"{at + timedelta(days=rng.randint(5, 30)):%d.%m}",
        )

    # --- choices -----------------------------------------------------------------------------------

    def _place(self, municipality_code: str | None) -> _Place:
        if municipality_code not in CITY_OF_MUNICIPALITY or self.rng.random() < 0.15:
            municipality_code = self.rng.choice(sorted(CITY_OF_MUNICIPALITY))
        return _Place(municipality_code, CITY_OF_MUNICIPALITY[municipality_code])

    def _category(self, body_code: str | None = None) -> str:
        candidates = [
            c for c in self.categories if body_code in (None, "administration", self.default_body.get(c))
        ] or self.categories
        return self.rng.choices(candidates, [CATEGORY_WEIGHTS[c] for c in candidates])[0]

    def _moment(self, day: date, hour_weights: tuple[int, ...] = HOUR_WEIGHTS) -> datetime:
        hour = self.rng.choices(range(24), hour_weights)[0]
        return datetime.combine(day, time(hour, self.rng.randint(0, 59), self.rng.randint(0, 59)), MOSCOW)

    def _citizen(self, account: Account) -> str:
        if account.platform == "telegram":
            return f"user:{self.rng.choice(self.telegram_users)}"
        return f"user:{self.rng.choice(list(self.ok_users))}"

    def _ok_user(self) -> dict[str, Any]:
        female = self.rng.random() < 0.55
        surname = self.rng.choice(texts.SURNAMES)
        if female and not surname.endswith(("енко", "ко", "их", "ых")):
            surname += "а"
        first = self.rng.choice(texts.FEMALE_FIRST_NAMES if female else texts.MALE_FIRST_NAMES)
        return {"first_name": first, "last_name": surname}

    # --- the platform objects ----------------------------------------------------------------------

    def _finish(self) -> SocialWorld:
        telegram = {int(a.external_id): self._telegram_channel(a) for a in TELEGRAM_CHANNELS}
        ok_groups = {a.external_id: self._ok_group(a) for a in OK_GROUPS}
        ok_users = {uid: {"uid": uid, **user} for uid, user in self.ok_users.items()}
        drafts = [d for posts in self.posts.values() for p in posts for d in (p, *p.comments)]
        labels = [_label(d) for d in sorted(drafts, key=lambda d: (d.at, _key(d)))]
        labels += [_root_label(p) for p in drafts if p.root_id]
        labels.sort(key=lambda label: (label["published_at"], label["source_message_key"]))
        return SocialWorld(self.start, self.days, telegram, ok_groups, ok_users, labels)

    def _telegram_channel(self, account: Account) -> TelegramChannel:
        rng = self.rng
        channel_id = int(account.external_id)
        posts = sorted(self.posts[account], key=lambda d: d.at)
        next_id = rng.randint(1_000, 40_000)
        for post in posts:
            post.item_id, post.peer_id = next_id, channel_id
            next_id += rng.choice((1, 1, 1, 2))  # a deleted post leaves a gap
        subscribers = rng.randint(*SUBSCRIBERS)
        threads: dict[int, TelegramThread] = {}
        messages: list[types.Message] = []
        if account.discussion_id is not None:
            threads = self._telegram_threads(account, [p for p in posts if p.comments])
        for post in posts:
            views = int(subscribers * rng.uniform(0.03, 0.3))
            thread = threads.get(int(post.item_id))
            replies = None
            if account.discussion_id is not None:
                replies = types.MessageReplies(
                    replies=len(thread.replies) if thread else 0,
                    replies_pts=rng.randint(1_000, 90_000),
                    comments=True,
                    channel_id=account.discussion_id,
                    max_id=thread.replies[-1].id if thread and thread.replies else None,
                )
            messages.append(
                types.Message(
                    id=int(post.item_id),
                    peer_id=types.PeerChannel(channel_id),
                    date=post.at.astimezone(UTC),
                    message=post.text,
                    post=True,
                    views=views,
                    forwards=int(views * rng.uniform(0.0, 0.02)),
                    replies=replies,
                    entities=[],
                )
            )
        created = datetime(2019 + rng.randint(0, 4), rng.randint(1, 12), rng.randint(1, 28), tzinfo=UTC)
        entity = types.Channel(
            id=channel_id,
            title=account.name_ru,
            photo=types.ChatPhotoEmpty(),
            date=created,
            broadcast=True,
            verified=account.is_official and account.body_code != "mintek",
            has_link=account.discussion_id is not None,
            access_hash=rng.getrandbits(63),
            username=account.screen_name,
        )
        discussion = None
        if account.discussion_id is not None:
            discussion = types.Channel(
                id=account.discussion_id,
                title=f"{account.name_ru} — комментарии",
                photo=types.ChatPhotoEmpty(),
                date=created,
                megagroup=True,
                has_link=True,
                access_hash=rng.getrandbits(63),
            )
        full = types.ChannelFull(
            id=channel_id,
            about=self._about(account),
            read_inbox_max_id=0,
            read_outbox_max_id=0,
            unread_count=0,
            chat_photo=types.PhotoEmpty(id=0),
            notify_settings=types.PeerNotifySettings(),
            bot_info=[],
            pts=rng.randint(1_000, 90_000),
            participants_count=subscribers,
            linked_chat_id=account.discussion_id,
        )
        return TelegramChannel(account, entity, full, discussion, messages, threads)

    def _telegram_threads(self, account: Account, posts: list[_Draft]) -> dict[int, TelegramThread]:
        """Number the discussion group's messages in time order: each post's root copy, then replies."""
        assert account.discussion_id is not None
        group = account.discussion_id
        roots = {id(p): p.at + timedelta(seconds=2) for p in posts}
        timeline = sorted(
            [(roots[id(p)], 0, p) for p in posts] + [(c.at, 1, c) for p in posts for c in p.comments],
            key=lambda item: (item[0], item[1]),
        )
        next_id = self.rng.randint(10_000, 400_000)
        for _, is_reply, draft in timeline:
            if is_reply:
                draft.item_id, draft.peer_id = next_id, group
            else:
                draft.root_id = next_id
            next_id += 1
        channel_peer = types.PeerChannel(int(account.external_id))
        threads = {}
        for post in posts:
            root_id = post.root_id
            root = types.Message(
                id=root_id,
                peer_id=types.PeerChannel(group),
                date=roots[id(post)].astimezone(UTC),
                message=post.text,
                from_id=channel_peer,
                fwd_from=types.MessageFwdHeader(
                    date=post.at.astimezone(UTC),
                    from_id=channel_peer,
                    channel_post=int(post.item_id),
                    saved_from_peer=channel_peer,
                    saved_from_msg_id=int(post.item_id),
                ),
                entities=[],
            )
            replies = [
                self._telegram_reply(c, group, root_id) for c in sorted(post.comments, key=lambda c: c.at)
            ]
            threads[int(post.item_id)] = TelegramThread(root, replies)
        return threads

    def _telegram_reply(self, comment: _Draft, group: int, root_id: int) -> types.Message:
        if isinstance(comment.author, Account):
            sender: Any = types.PeerChannel(int(comment.author.external_id))
        else:
            sender = types.PeerUser(int(comment.author.removeprefix("user:")))
        target = comment.reply_to
        header = types.MessageReplyHeader(
            reply_to_msg_id=int(target.item_id) if target else root_id,
            reply_to_top_id=root_id if target else None,
        )
        return types.Message(
            id=int(comment.item_id),
            peer_id=types.PeerChannel(group),
            date=comment.at.astimezone(UTC),
            message=comment.text,
            from_id=sender,
            reply_to=header,
            entities=[],
        )

    def _ok_group(self, account: Account) -> OkGroup:
        rng = self.rng
        group_id = account.external_id
        topics, comments = [], {}
        next_id = 150_000_000_000_000 + rng.randint(0, 9_000_000_000)
        for post in sorted(self.posts[account], key=lambda d: d.at):
            post.item_id = str(next_id)
            next_id += rng.randint(1, 40_000)
            ordered = sorted(post.comments, key=lambda c: c.at)
            for number, comment in enumerate(ordered, start=1):
                comment.item_id = (
                    base64.urlsafe_b64encode(f"{post.item_id}:{number}".encode()).decode().rstrip("=")
                )
            comments[str(post.item_id)] = [self._ok_comment(c) for c in ordered]
            author = f"group:{group_id}" if post.author == "account" else str(post.author)
            topics.append(
                {
                    "id": str(post.item_id),
                    "created_ms": _ms(post.at),
                    "author_ref": author,
                    "owner_ref": f"group:{group_id}",
                    "media": [{"type": "text", "text": post.text}],
                    "discussion_summary": {"comments_count": len(ordered)},
                    "like_summary": {"count": rng.randint(0, 300)},
                    "reshare_summary": {"count": rng.randint(0, 20)},
                    "is_commenting_denied": False,
                }
            )
        topics.reverse()  # newest first, as the API lists them
        return OkGroup(account, self._ok_group_info(account), topics, comments)

    def _ok_comment(self, comment: _Draft) -> dict[str, Any]:
        if isinstance(comment.author, Account):
            author_id, author_type = comment.author.external_id, "GROUP"
        else:
            author_id, author_type = comment.author.removeprefix("user:"), "USER"
        item: dict[str, Any] = {
            "id": comment.item_id,
            "author_id": author_id,
            "author_type": author_type,
            "date": f"{comment.at.astimezone(MOSCOW):%Y-%m-%d %H:%M:%S}",
            "date_ms": _ms(comment.at),
            "text": comment.text,
            "like_count": self.rng.randint(0, 12),
            "liked_it": False,
        }
        if comment.reply_to is not None:
            replied = comment.reply_to.author
            item["reply_to_comment_id"] = comment.reply_to.item_id
            item["reply_to_id"] = replied.external_id if isinstance(replied, Account) else replied[5:]
        return item

    def _ok_group_info(self, account: Account) -> dict[str, Any]:
        rng = self.rng
        info: dict[str, Any] = {
            "uid": account.external_id,
            "name": account.name_ru,
            "shortname": account.screen_name,
            "description": self._about(account),
            "members_count": rng.randint(*SUBSCRIBERS),
            "access_type": "OPEN",
            "business": False,
            "category": "GOVERNMENT" if account.is_official else "CUSTOM",
            "city": CITY_OF_MUNICIPALITY.get(account.municipality_code or "", "Краснодар"),
            "created_ms": _ms(datetime(2015 + rng.randint(0, 6), rng.randint(1, 12), 1, tzinfo=MOSCOW)),
            "pic_avatar": f"https://i.mycdn.me/i?r=sandbox{account.external_id}",
        }
        if account.is_official and account.body_code != "gzhi":  # one account is kept poorly
            info |= {
                "homepage_url": f"https://{account.body_code}.krasnodar.ru",
                "phone": f"+7 (861) {rng.randint(200, 299)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
                "address": "г. Краснодар, ул. Красная, 35",
            }
        return info

    def _about(self, account: Account) -> str:
        if not account.is_official:
            return _fill(texts.COMMUNITY_DESCRIPTION, _Slots(place=account.name_ru, phone="+7 918 000-00-00"))
        if account.body_code == "minzdrav":
            return ""  # a compliance gap: no description
        return _fill(
            texts.OFFICIAL_DESCRIPTION,
            _Slots(
                name=account.name_ru,
                remit=texts.BODY_REMITS.get(account.body_code or "", ""),
                address="ул. Красная, 35",
                phone="268-00-00",
                email=f"{account.body_code}@krasnodar.ru",
                site=f"https://{account.body_code}.krasnodar.ru",
            ),
        )


# --- working time -----------------------------------------------------------------------------------


class _WorkingClock:
    """Production's working time (`socmon.calendar.add_working_minutes`: the lunch break off)."""

    def add(self, moment: datetime, minutes: int) -> datetime:
        return add_working_minutes(moment, minutes)


# --- small helpers ----------------------------------------------------------------------------------


def _default_bodies() -> dict[str, str]:
    """category code → the body responsible by default (dbt_project/seeds/domain/categories.csv)."""
    path = settings().dbt_project_dir / "seeds" / "domain" / "categories.csv"
    with path.open(encoding="utf-8", newline="") as f:
        return {row["code"]: row["default_body_code"] for row in csv.DictReader(f)}


def _phone(rng: random.Random) -> str:
    return f"+7 9{rng.randint(10, 89)} {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"


def _fill(template: str, slots: dict[str, str]) -> str:
    return template.format_map(slots if isinstance(slots, _Slots) else _Slots(slots))


def _named(place: _Place) -> dict[str, Any]:
    return {"municipality_code": place.municipality_code, "place_mention": place.mention}


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _key(draft: _Draft) -> str:
    """The draft's `source_message_key` (docs/ARCHITECTURE.md, "Public contracts")."""
    if draft.home.platform == "telegram":
        return f"telegram:{draft.peer_id}/{draft.item_id}"
    if draft.post is None:
        return f"ok:topic/{draft.item_id}"
    return f"ok:comment/{draft.post.item_id}/{draft.item_id}"


def _root_label(post: _Draft) -> dict[str, Any]:
    """The discussion group's copy of a channel post: not a message of its own."""
    assert post.home.discussion_id is not None
    return {
        **_label(post),
        "source_message_key": f"telegram:{post.home.discussion_id}/{post.root_id}",
        "kind": "thread_root",
        "is_incident": False,
        "answered_by": None,
        "answer_delay_minutes": None,
        "answer_timing": None,
        "copy_of": _key(post),
        "published_at": int(post.at.timestamp()) + 2,
    }


def _label(draft: _Draft) -> dict[str, Any]:
    truth = draft.truth
    return {
        "source_message_key": _key(draft),
        "platform": draft.home.platform,
        "kind": truth.kind,
        "is_incident": truth.is_incident,
        "category_code": truth.category_code,
        "municipality_code": truth.municipality_code,
        "place_mention": truth.place_mention,
        "answered_by": truth.answered_by,
        "answer_delay_minutes": truth.answer_delay_minutes,
        "answer_timing": truth.answer_timing,
        "answers_key": _key(truth.answers) if truth.answers else None,
        "copy_of": None,
        "published_at": int(draft.at.timestamp()),
    }
