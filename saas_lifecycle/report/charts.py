"""The report's charts: one plotly figure per chart, each with its title, axis titles with
units, and the one-sentence reading computed from the same frame.

Each chart is a ChartSpec: its words (Texts), its reading (readings.py) and a draw function
that returns None when there is nothing to draw. Then the chart is drawn empty with a note
saying why (a tiny dataset, an absent optional raw table), so the report always has every
chart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from saas_lifecycle.report import readings
from saas_lifecycle.report.marts import HEATMAP_MONTHS, HEATMAP_WEEKS, MartsSnapshot

# System fonts only: the report must open with no network.
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
HEIGHT = 440
COLORS = {
    "new": "#2a9d8f",
    "returning": "#457b9d",
    "resurrected": "#8e7dbe",
    "dormant": "#e76f51",
    "healthy": "#2a9d8f",
    "neutral": "#e9c46a",
    "at_risk": "#e76f51",
    "value": "#264653",
    "core_feature": "#8ab17d",
    "dau": "#264653",
    "wau": "#2a9d8f",
    "mau": "#8ab17d",
    "stickiness": "#e76f51",
    "trial": "#a8dadc",
    "paid": "#457b9d",
}
PERSONA_ORDER = ("solo", "smb", "enterprise", "unknown")
# Ticks of the time-to-value axis (hours -> label): a log axis labelled in a reader's units.
TTV_TICKS = {
    0.1: "6 min",
    1: "1 h",
    6: "6 h",
    24: "1 day",
    72: "3 days",
    168: "1 week",
    720: "30 days",
    2160: "90 days",
}
# Opacity of bars for a period that is not over yet (its counts will still grow).
RUNNING_OPACITY = 0.45


@dataclass(frozen=True)
class Chart:
    """One chart of the report."""

    key: str
    figure: go.Figure
    reading: str
    about: str
    wide: bool = False

    @property
    def title(self) -> str:
        return str(self.figure.layout.title.text)


def layout(title: str, x_title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    """The common look: white template, system font, title, axis titles, legend on top."""
    base: dict[str, Any] = {
        "template": "plotly_white",
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 17}},
        "font": {"family": FONT, "size": 12},
        "height": HEIGHT,
        "margin": {"l": 70, "r": 30, "t": 80, "b": 60},
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        "xaxis": {"title": {"text": x_title}},
        "yaxis": {"title": {"text": y_title}},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


@dataclass(frozen=True)
class Texts:
    """A chart's words: title, axis titles with units, what it counts, and the note shown
    when there is nothing to draw."""

    title: str
    x_title: str
    y_title: str
    about: str
    empty: str

    def layout(self, **extra: Any) -> dict[str, Any]:
        return layout(self.title, self.x_title, self.y_title, **extra)


def empty_figure(texts: Texts) -> go.Figure:
    """Axes with their titles and a centred note instead of data."""
    figure = go.Figure(layout=texts.layout())
    figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    figure.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    figure.add_annotation(
        text=texts.empty,
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        showarrow=False,
        font={"size": 13, "color": "#6c757d"},
    )
    return figure


def _opacity(complete: pd.Series) -> list[float]:
    return [1.0 if done else RUNNING_OPACITY for done in complete.astype(bool)]


# ---------------------------------------------------------------------------- drawing


def retention_heatmap(frame: pd.DataFrame, texts: Texts) -> go.Figure | None:
    cohorts = frame[frame["segment_type"] == "all"]
    if cohorts.empty:
        return None
    rates = cohorts["retention_rate"].where(cohorts["is_complete"].astype(bool))
    grid = (
        cohorts.assign(rate=rates)
        .pivot(index="cohort_start", columns="period_number", values="rate")
        .reindex(columns=range(HEATMAP_WEEKS + 1))
        .sort_index()
    )
    sizes = cohorts.groupby("cohort_start")["cohort_size"].max()
    labels = [f"{readings.day(start)} ({int(sizes[start]):,})" for start in grid.index]
    later = grid.drop(columns=0).stack()
    top = float(later.max()) if not later.empty else 1.0
    return _cohort_heatmap(
        grid,
        labels,
        texts,
        zmax=max(top, 0.05),
        colorscale="Blues",
        hover="Cohort %{y}<br>Week %{x}: %{z:.1%} active<extra></extra>",
        colorbar_title="Active<br>(% of cohort)",
        left_margin=150,
    )


def active_users(frame: pd.DataFrame, texts: Texts) -> go.Figure | None:
    if frame.empty:
        return None
    figure = go.Figure(
        layout=texts.layout(
            yaxis2={
                "title": {"text": "Stickiness (DAU / MAU, %)"},
                "overlaying": "y",
                "side": "right",
                "tickformat": ".0%",
                "rangemode": "tozero",
                "showgrid": False,
            },
            margin={"r": 80},
            hovermode="x unified",
        )
    )
    for column, name in (("mau", "MAU"), ("wau", "WAU"), ("dau", "DAU")):
        figure.add_scatter(
            x=frame["date"],
            y=frame[column],
            name=name,
            mode="lines",
            line={"color": COLORS[column], "width": 2},
            hovertemplate=f"{name} %{{y:,}} users<extra></extra>",
        )
    figure.add_scatter(
        x=frame["date"],
        y=frame["stickiness"],
        name="Stickiness (right axis)",
        yaxis="y2",
        mode="lines",
        line={"color": COLORS["stickiness"], "width": 1.5, "dash": "dot"},
        hovertemplate="Stickiness %{y:.1%}<extra></extra>",
    )
    filling = frame[~frame["mau_window_complete"].astype(bool)]
    if not filling.empty:
        figure.add_vrect(
            x0=filling["date"].min(),
            x1=filling["date"].max(),
            fillcolor="#adb5bd",
            opacity=0.15,
            line_width=0,
        )
    return figure


def lifecycle(frame: pd.DataFrame, texts: Texts) -> go.Figure | None:
    if frame.empty:
        return None
    opacity = _opacity(frame["is_complete"])
    figure = go.Figure(layout=texts.layout(barmode="relative"))
    for state in ("new", "returning", "resurrected", "dormant"):
        sign = -1 if state == "dormant" else 1
        figure.add_bar(
            x=frame["period_start"],
            y=sign * frame[f"{state}_users"],
            name=state.capitalize(),
            marker={"color": COLORS[state], "opacity": opacity},
            customdata=frame[f"{state}_users"],
            hovertemplate=f"{state.capitalize()} %{{customdata:,}} users<extra></extra>",
        )
    figure.add_hline(y=0, line_color="#495057", line_width=1)
    return figure


def onboarding_funnel(frame: pd.DataFrame, texts: Texts) -> go.Figure | None:
    """Independent bars, one per step: steps count in any order, so a later step may be done
    by more users than an earlier one, and a funnel shape would read as one that widens."""
    if frame.empty:
        return None
    steps, use_complete = readings.onboarding_steps(frame)
    if not use_complete:
        texts = replace(texts, x_title="Share of sign-ups (cohorts still inside their window)")
    signups = int(steps["signups"].iloc[0])
    labels = [
        f"{int(o)}. {name}"
        for o, name in steps[["step_order", "step_name"]].itertuples(index=False)
    ]
    figure = go.Figure(
        go.Bar(
            y=labels,
            x=steps["completion_rate"],
            orientation="h",
            customdata=steps["users_completed"].astype(int),
            texttemplate="%{x:.0%} (%{customdata:,})",
            textposition="outside",
            cliponaxis=False,
            hovertemplate=(
                f"%{{y}}: %{{customdata:,}} of {signups:,} sign-ups (%{{x:.1%}})<extra></extra>"
            ),
            marker={"color": COLORS["returning"]},
        ),
        layout=texts.layout(
            margin={"l": 190},
            showlegend=False,
            yaxis={"autorange": "reversed", "type": "category"},
            xaxis={"tickformat": ".0%", "range": [0, 1.15]},
        ),
    )
    return figure


def time_to_value(frame: pd.DataFrame, texts: Texts) -> go.Figure | None:
    reached = frame.dropna(subset=["ttv_hours"])
    if reached.empty:
        return None
    present = list(reached["persona"].dropna().unique())
    order = [p for p in PERSONA_ORDER if p in present] + sorted(
        p for p in present if p not in PERSONA_ORDER
    )
    figure = go.Figure(layout=texts.layout(showlegend=False))
    figure.update_yaxes(type="log", tickvals=list(TTV_TICKS), ticktext=list(TTV_TICKS.values()))
    for persona in order:
        hours = reached.loc[reached["persona"] == persona, "ttv_hours"]
        figure.add_box(
            y=hours,
            name=f"{persona} ({len(hours):,} users)",
            boxpoints="outliers",
            marker={"color": COLORS["returning"], "size": 3},
            line={"color": COLORS["returning"]},
            hovertemplate="%{y:.1f} h<extra></extra>",
        )
    return figure


def conversion_by_channel(frame: pd.DataFrame, texts: Texts) -> go.Figure | None:
    if frame.empty:
        return None
    complete = frame[frame["is_complete"].astype(bool)]
    rows = complete if not complete.empty else frame
    sums = rows.groupby("channel")[
        ["accounts_signed_up", "accounts_trialing", "accounts_converted"]
    ].sum()
    sums = sums[sums["accounts_signed_up"] > 0]
    sums["paid"] = sums["accounts_converted"] / sums["accounts_signed_up"]
    sums["trial"] = sums["accounts_trialing"] / sums["accounts_signed_up"]
    sums = sums.sort_values(["paid", "trial"], ascending=False)
    figure = go.Figure(layout=texts.layout(barmode="group", yaxis={"tickformat": ".0%"}))
    for column, count, name in (
        ("trial", "accounts_trialing", "Started a trial"),
        ("paid", "accounts_converted", "Converted to paid"),
    ):
        figure.add_bar(
            x=sums.index,
            y=sums[column],
            name=name,
            marker={"color": COLORS[column]},
            customdata=sums[[count, "accounts_signed_up"]].to_numpy(),
            # Only the paid bars are labelled: the chart's subject, without clutter.
            texttemplate="%{y:.0%}" if column == "paid" else None,
            textposition="outside",
            hovertemplate=(
                f"{name}: %{{y:.1%}} (%{{customdata[0]:,}} of %{{customdata[1]:,}} accounts)"
                "<extra></extra>"
            ),
        )
    return figure


def mrr_waterfall(frame: pd.DataFrame, texts: Texts) -> go.Figure | None:
    if frame.empty:
        return None
    row, complete = readings.latest_complete(frame)
    month = readings.month(row["month"])
    texts = replace(
        texts,
        title=texts.title if complete else "MRR movements of the current month (not over yet)",
        x_title=f"{texts.x_title}, {month}",
    )
    steps = [("Starting MRR", float(row["starting_mrr"]), "absolute")]
    steps += [
        (name.capitalize(), sign * float(row[column]), "relative")
        for column, name, sign in readings.MRR_MOVEMENTS
    ]
    steps.append(("Ending MRR", float(row["ending_mrr"]), "total"))
    figure = go.Figure(
        go.Waterfall(
            x=[name for name, _, _ in steps],
            y=[value for _, value, _ in steps],
            measure=[measure for _, _, measure in steps],
            text=[
                f"{value:,.0f}" if m != "relative" else f"{value:+,.0f}" if value else ""
                for _, value, m in steps
            ],
            textposition="outside",
            increasing={"marker": {"color": COLORS["new"]}},
            decreasing={"marker": {"color": COLORS["dormant"]}},
            totals={"marker": {"color": COLORS["returning"]}},
            connector={"line": {"color": "#adb5bd"}},
            hovertemplate="%{x}: %{y:,.2f}<extra></extra>",
        ),
        layout=texts.layout(showlegend=False),
    )
    return figure


def nps_trend(frame: pd.DataFrame, texts: Texts) -> go.Figure | None:
    if frame.empty:
        return None
    # Plotly draws an overlaying axis's traces above the base axis's: the responses take the
    # base axis (right) so that the NPS line (left, the chart's subject) is never hidden.
    figure = go.Figure(
        layout=replace(texts, y_title="Responses").layout(
            yaxis={"side": "right", "showgrid": False, "rangemode": "tozero"},
            yaxis2={
                "title": {"text": texts.y_title},
                "overlaying": "y",
                "side": "left",
                "range": [-100, 100],
                "tickvals": [-100, -50, 0, 50, 100],
                "zeroline": True,
                "zerolinecolor": "#adb5bd",
            },
            xaxis={"dtick": "M1", "tickformat": "%b %Y"},
            margin={"r": 70},
        )
    )
    figure.add_bar(
        x=frame["month"],
        y=frame["responses"],
        name="Responses (right axis)",
        marker={"color": "#dee2e6", "opacity": _opacity(frame["is_complete"])},
        hovertemplate="%{y:,} responses<extra></extra>",
    )
    complete = frame["is_complete"].astype(bool)
    figure.add_scatter(
        x=frame["month"],
        y=frame["nps"],
        name="NPS (left axis)",
        yaxis="y2",
        mode="lines+markers+text",
        # A running month is marked partial: few responses so far, its NPS will move.
        text=[
            f"{value:+.0f}" if done else f"{value:+.0f} (partial)"
            for value, done in zip(frame["nps"], complete, strict=True)
        ],
        textposition="top center",
        line={"color": COLORS["dau"], "width": 2},
        marker={
            "size": 8,
            "symbol": ["circle" if done else "circle-open" for done in complete],
            "opacity": _opacity(frame["is_complete"]),
        },
        hovertemplate="NPS %{y:+.1f}<extra></extra>",
    )
    return figure


def health_bands(frame: pd.DataFrame, texts: Texts) -> go.Figure | None:
    if frame.empty:
        return None
    figure = go.Figure(layout=texts.layout(barmode="stack"))
    for band in readings.HEALTH_BANDS:
        scores = frame.loc[frame["health_band"] == band, "health_score"]
        figure.add_histogram(
            x=scores,
            name=f"{band.replace('_', ' ')} ({len(scores):,})",
            # Bins are closed on the left: the last one, [100, 105), holds perfect scores.
            xbins={"start": 0, "end": 105, "size": 5},
            marker={"color": COLORS[band]},
            hovertemplate="score %{x}: %{y:,} customers<extra></extra>",
        )
    figure.update_xaxes(range=[0, 105], tickvals=list(range(0, 101, 10)))
    return figure


def aha_candidates(frame: pd.DataFrame, texts: Texts) -> go.Figure | None:
    valued = frame.dropna(subset=["lift"]).sort_values(["lift", "event_name"])
    if valued.empty:
        return None
    figure = go.Figure(
        go.Bar(
            x=valued["lift"],
            y=valued["event_name"],
            orientation="h",
            marker={"color": [COLORS.get(c, COLORS["value"]) for c in valued["event_category"]]},
            text=[
                f"{lift:.2f}× ({int(n):,} did)"
                for lift, n in zip(valued["lift"], valued["users_did"], strict=True)
            ],
            textposition="outside",
            cliponaxis=False,
            customdata=valued[["retention_if_did", "retention_if_not"]].to_numpy(),
            hovertemplate=(
                "%{y}: lift %{x:.2f}×<br>retained if did %{customdata[0]:.1%}, "
                "if not %{customdata[1]:.1%}<extra></extra>"
            ),
        ),
        layout=texts.layout(
            showlegend=False,
            margin={"l": 170},
            height=max(HEIGHT, 140 + 30 * len(valued)),
        ),
    )
    figure.add_vline(x=1, line_dash="dash", line_color="#495057")
    figure.update_xaxes(rangemode="tozero", range=[0, float(valued["lift"].max()) * 1.4])
    return figure


def revenue_kpis(frame: pd.DataFrame, texts: Texts) -> go.Figure | None:
    if frame.empty:
        return None
    figure = go.Figure(
        layout=texts.layout(
            yaxis2={
                "title": {"text": "Quick ratio (MRR added / MRR lost)"},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "showgrid": False,
            },
            xaxis={"dtick": "M1", "tickformat": "%b %Y"},
            margin={"r": 80},
            hovermode="x unified",
        )
    )
    figure.add_bar(
        x=frame["month"],
        y=frame["arr"],
        name="ARR (left axis)",
        marker={"color": COLORS["paid"], "opacity": _opacity(frame["is_complete"])},
        hovertemplate="ARR %{y:,.0f}<extra></extra>",
    )
    figure.add_scatter(
        x=frame["month"],
        y=frame["quick_ratio"],
        name="Quick ratio (right axis)",
        yaxis="y2",
        mode="lines+markers",
        line={"color": COLORS["stickiness"], "width": 2},
        hovertemplate="Quick ratio %{y:.2f}<extra></extra>",
    )
    figure.add_hline(y=1, yref="y2", line_dash="dot", line_color="#adb5bd")
    return figure


def revenue_retention_heatmap(frame: pd.DataFrame, texts: Texts) -> go.Figure | None:
    if frame.empty:
        return None
    rates = frame["net_mrr_retention"].where(frame["is_complete"].astype(bool))
    grid = (
        frame.assign(rate=rates)
        .pivot(index="cohort_month", columns="months_since", values="rate")
        .reindex(columns=range(HEATMAP_MONTHS + 1))
        .sort_index()
    )
    sizes = frame.groupby("cohort_month")["cohort_accounts"].max()
    labels = [f"{readings.month(c)} ({int(sizes[c]):,})" for c in grid.index]
    values = grid.stack()
    top = float(values.max()) if not values.empty else 1.0
    return _cohort_heatmap(
        grid,
        labels,
        texts,
        zmax=max(top, 1.0),
        colorscale="Greens",
        hover="Cohort %{y}<br>Month %{x}: %{z:.1%} of first-month MRR<extra></extra>",
        colorbar_title="Net MRR<br>retention",
        left_margin=170,
    )


def _cohort_heatmap(
    grid: pd.DataFrame,
    labels: list[str],
    texts: Texts,
    *,
    zmax: float,
    colorscale: str,
    hover: str,
    colorbar_title: str,
    left_margin: int,
) -> go.Figure:
    """A cohort x period grid of rates as percentages, newest cohort last, periods on top."""
    return go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[str(period) for period in grid.columns],
            y=labels,
            zmin=0,
            zmax=zmax,
            colorscale=colorscale,
            texttemplate="%{z:.0%}",
            textfont={"size": 10},
            hovertemplate=hover,
            colorbar={"title": {"text": colorbar_title}, "tickformat": ".0%"},
            xgap=1,
            ygap=1,
        ),
        layout=texts.layout(
            height=max(HEIGHT, 160 + 22 * len(labels)),
            yaxis={"autorange": "reversed", "type": "category"},
            xaxis={"type": "category", "side": "top"},
            margin={"t": 110, "l": left_margin},
        ),
    )


def _cell(value: Any, pattern: str) -> str:
    return "–" if readings.is_missing(value) else pattern.format(value)


def at_risk_table(frame: pd.DataFrame, texts: Texts) -> go.Figure | None:
    if frame.empty:
        return None
    reasons = [
        "; ".join(r for r in (drivers, risks) if not readings.is_missing(r)) or "–"
        for drivers, risks in zip(frame["top_drivers"], frame["top_risk_reasons"], strict=True)
    ]
    columns = {
        "Account": frame["account_id"].tolist(),
        "Persona": frame["persona"].tolist(),
        "MRR": [_cell(v, "{:,.0f}") for v in frame["current_mrr"]],
        "Health (band)": [
            f"{_cell(score, '{:.0f}')} ({band.replace('_', ' ')})"
            for score, band in zip(frame["health_score"], frame["health_band"], strict=True)
        ],
        "Churn probability": [_cell(v, "{:.0%}") for v in frame["churn_probability"]],
        "Expected MRR loss": [_cell(v, "{:,.0f}") for v in frame["expected_mrr_loss"]],
        "Why (model drivers; users' risk reasons)": reasons,
    }
    figure = go.Figure(
        go.Table(
            columnwidth=[1.1, 0.8, 0.7, 1.0, 0.9, 0.9, 3.6],
            header={
                "values": [f"<b>{name}</b>" for name in columns],
                "fill_color": "#e9ecef",
                "align": "left",
            },
            cells={"values": list(columns.values()), "align": "left", "height": 24},
        ),
        layout=texts.layout(height=max(HEIGHT, 140 + 30 * len(frame)), margin={"t": 60}),
    )
    return figure


@dataclass(frozen=True)
class ChartSpec:
    """How one chart is made from its frame of the snapshot."""

    key: str
    texts: Texts
    read: Callable[[pd.DataFrame], str]
    draw: Callable[[pd.DataFrame, Texts], go.Figure | None]
    wide: bool = False


def chart_specs(currency: str | None) -> tuple[ChartSpec, ...]:
    """Every chart of the report, in page order (money is in the reporting currency)."""
    unit = currency or "reporting currency"
    return (
        ChartSpec(
            "retention",
            Texts(
                "Weekly retention by sign-up cohort",
                "Weeks since sign-up week",
                "Sign-up week (cohort size, users)",
                "Share of each week's sign-ups active in the n-th week after their sign-up "
                "week (week 0 is 100% by definition); weeks not over yet are blank.",
                "No weekly cohort yet",
            ),
            readings.retention,
            retention_heatmap,
            wide=True,
        ),
        ChartSpec(
            "active_users",
            Texts(
                "Daily, weekly and monthly active users, with stickiness",
                "Date",
                "Active users",
                "DAU, WAU and MAU count distinct active users on the day and in the 7 and 30 "
                "days ending on it; stickiness = DAU / MAU (right axis). Shaded: MAU window "
                "still filling.",
                "No active day yet",
            ),
            readings.active_users,
            active_users,
            wide=True,
        ),
        ChartSpec(
            "lifecycle",
            Texts(
                "User lifecycle by week",
                "Week (starting Monday)",
                "Users (dormant below zero)",
                "New: signed up and active that week; returning: active this and last week; "
                "resurrected: active after a break; dormant: active last week, not this one. "
                "Pale bars: week not over yet.",
                "No active week yet",
            ),
            readings.lifecycle,
            lifecycle,
        ),
        ChartSpec(
            "onboarding",
            Texts(
                "Onboarding steps done within the window (any order, not a funnel)",
                "Share of sign-ups (complete cohorts)",
                "Onboarding step",
                "Each bar: the share of sign-ups of every cohort whose onboarding window is "
                "over who did that step within the window, in any order; a later step can "
                "be done by more users than an earlier one.",
                "No sign-up yet",
            ),
            readings.onboarding,
            onboarding_funnel,
        ),
        ChartSpec(
            "ttv",
            Texts(
                "Time to first value by persona",
                "Persona (company size)",
                "Time from sign-up to first value (log scale)",
                "Distribution of hours from sign-up to the first first-value event, over users "
                "who reached it (box: quartiles, line: median, whiskers: 1.5 IQR).",
                "No user has reached first value yet",
            ),
            readings.time_to_value,
            time_to_value,
        ),
        ChartSpec(
            "conversion",
            Texts(
                "Trial and paid conversion by first-touch channel",
                "First-touch channel",
                "Accounts (% of sign-ups)",
                "Accounts that started a trial and that started paying within the conversion "
                "window of their first user's sign-up, pooled over complete sign-up months.",
                "No conversion data",
            ),
            readings.conversion,
            conversion_by_channel,
        ),
        ChartSpec(
            "mrr",
            Texts(
                "MRR movements of the last complete month",
                "MRR bridge",
                f"MRR ({unit} per month)",
                "Starting MRR, what new, expanding and reactivated accounts added and what "
                "contraction and churn took away, and the month's ending MRR.",
                "No MRR yet",
            ),
            partial(readings.mrr, currency=currency),
            mrr_waterfall,
        ),
        ChartSpec(
            "revenue_kpis",
            Texts(
                "ARR and quick ratio by month",
                "Month",
                f"ARR ({unit} per year)",
                "ARR = 12 × month-end MRR (pale: month not over yet); quick ratio = (new + "
                "expansion + reactivation MRR) / (contraction + churned MRR), right axis, "
                "with the break-even line at 1.",
                "No revenue yet",
            ),
            partial(readings.revenue_kpis, currency=currency),
            revenue_kpis,
        ),
        ChartSpec(
            "revenue_retention",
            Texts(
                "Net MRR retention by first-paid-month cohort",
                "Months since the first paid month",
                "First paid month (accounts)",
                "MRR of each cohort of new paying accounts n months later, as a share of "
                "their first month's MRR (expansion and reactivation included, churned "
                "accounts as 0); months not over yet are blank.",
                "No paying cohort yet",
            ),
            readings.revenue_retention,
            revenue_retention_heatmap,
            wide=True,
        ),
        ChartSpec(
            "nps",
            Texts(
                "Net Promoter Score by month",
                "Month",
                "NPS (−100 to +100)",
                "NPS = 100 × (promoters − detractors) / responses, a user's latest answer of "
                "the month counting once; bars: responses (right axis).",
                "No NPS response yet",
            ),
            readings.nps,
            nps_trend,
        ),
        ChartSpec(
            "health",
            Texts(
                "Customer health score and bands",
                "Health score (0–100 points)",
                "Customers (users not churned)",
                "Health score of every user who has not churned, coloured by band (healthy, "
                "neutral, at risk); the README gives the formula.",
                "No customer to score",
            ),
            readings.health,
            health_bands,
        ),
        ChartSpec(
            "at_risk_accounts",
            Texts(
                "Paying accounts most at risk",
                "Paying account",
                "Ranked by expected MRR loss",
                "Paying accounts with the highest expected MRR loss next month (churn "
                "probability × MRR, from churn_risk_scores; the model and its backtest are in "
                "churn_model_evaluation), with account health and the reasons behind them.",
                "No paying account",
            ),
            partial(readings.at_risk_accounts, currency=currency),
            at_risk_table,
            wide=True,
        ),
        ChartSpec(
            "aha",
            Texts(
                "Aha-moment candidates: retention lift by first-week event",
                "Retention lift (× retention of users who did not do it)",
                "Event done in the first 7 days",
                "Day 28–34 retention of users who did the event in their first week, divided "
                "by that of users who did not. Above 1: associated with staying (correlation, "
                "not proof).",
                "No measurable lift yet",
            ),
            readings.aha,
            aha_candidates,
        ),
    )


def build_chart(spec: ChartSpec, frame: pd.DataFrame) -> Chart:
    """One chart: its reading and its figure, or the empty figure with its note."""
    figure = spec.draw(frame, spec.texts)
    if figure is None:
        figure = empty_figure(spec.texts)
    return Chart(spec.key, figure, spec.read(frame), spec.texts.about, spec.wide)


def build_charts(snapshot: MartsSnapshot) -> list[Chart]:
    """Every chart of the report, in page order."""
    return [build_chart(spec, snapshot.frames[spec.key]) for spec in chart_specs(snapshot.currency)]
