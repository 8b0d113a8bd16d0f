"""A weekly report as an email: a plain-text part and a simple HTML part (inline styles only: mail
clients drop style sheets), both from one set of rows so they always say the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from analytics_mcp.reports.weekly import WeeklyReport

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def change(value: float | None, points: bool = False) -> str:
    """+12.5% against the week before; pp for rates; 'new' when the week before had none."""
    if value is None:
        return "new"
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    return f"{sign}{abs(value):.1f}{' pp' if points else '%'}"


def duration(seconds: int) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m {rest:02d}s" if minutes else f"{rest}s"


def day_label(value: date | str) -> str:
    day = date.fromisoformat(str(value)[:10])
    return day.strftime("%a %d %b")


@dataclass(frozen=True)
class Line:
    label: str
    value: str
    change: str


def summary(report: WeeklyReport) -> list[Line]:
    o = report.overview
    return [
        Line("Visitors", number(o.visitors), change(o.visitors_change)),
        Line("Visits", number(o.visits), change(o.visits_change)),
        Line("Pageviews", number(o.pageviews), change(o.pageviews_change)),
        Line("Bounce rate", f"{o.bounce_rate:.1f}%", change(o.bounce_rate_change, points=True)),
        Line("Visit duration", duration(o.avg_duration), change(o.avg_duration_change)),
    ]


def subject(report: WeeklyReport) -> str:
    week = report.week
    return f"Weekly report · {report.tenant.name} · {day_label(week.date_from)} – {day_label(week.date_to)}"


def compose(report: WeeklyReport, *, sender: str, recipient: str, dashboard_url: str) -> EmailMessage:
    values = {
        "r": report,
        "summary": summary(report),
        "subject": subject(report),
        "dashboard_url": dashboard_url,
        "number": number,
        "change": change,
        "day_label": day_label,
        "duration": duration,
    }
    message = EmailMessage()
    message["Subject"] = values["subject"]
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    message.set_content(_env.get_template("weekly.txt").render(**values))
    message.add_alternative(_env.get_template("weekly.html").render(**values), subtype="html")
    return message
