"""What `mcd ask` shows: the console text, and one self-contained HTML page (question and answers,
the 1-fps filmstrip with the kept seconds marked, the attention over time of both streams as a small
plot, an audio player). Images and sound are inlined as base64 data, so the page is one file."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from mcd_core.ask.answer import Answer, Clues
from mcd_core.ask.features import VideoInputs
from mcd_core.ask.run import RunSettings
from mcd_core.common.atomic import write_text
from mcd_core.media.audio import SAMPLE_RATE, write_wav

THUMB_HEIGHT = 80           # filmstrip frame height, px
PLOT_SIZE = (800, 300)      # attention plot, px
COLOURS = {"audio": "#1c7ed6", "visual": "#e8590c"}


def describe_run(run: RunSettings) -> str:
    feats = [f"{s.backbone} {s.weights_label}" for s in (run.visual, run.audio) if s is not None]
    variant = run.config.get("inputs", {}).get("variant", run.model_cfg.architecture)
    return f"{run.run_dir} ({variant}; features: {' + '.join(feats) or 'none'})"


def describe_video(inputs: VideoInputs) -> str:
    sound = "no audio stream" if inputs.no_audio else f"{inputs.audio_length} s of sound"
    return (f"{inputs.path} ({inputs.length} s of picture, {sound}; the run reads "
            f"{inputs.seconds} s at 1 fps)")


def random_init_line(run: RunSettings) -> str | None:
    """The warning for a run whose features came from randomly initialised backbones (None: none)."""
    random = run.random_streams
    if not random:
        return None
    which = ", ".join(f"{s.role} {s.backbone}, seed {s.seed}" for s in random)
    if len(random) == len([s for s in (run.visual, run.audio) if s is not None]):
        return f"the backbones are randomly initialised ({which}): these answers carry no meaning"
    return (f"the {random[0].role} backbone is randomly initialised ({which}): these answers carry "
            f"no meaning")


def type_line(answer: Answer) -> str:
    a = answer.asked
    if a.template is None:
        keys = ", ".join(a.keywords) or "none"
        return f"fits no template (text objects: no type, keywords: {keys})"
    keys = f"; keywords: {', '.join(a.keywords)}" if a.keywords else ""
    return f"{a.type_key} (template {a.template.text.strip()!r}{keys})"


def clue_line(c: Clues) -> str:
    return ", ".join(f"{s} s ({w:.3f})" for s, w in zip(c.kept, c.weights))


def console_text(run: RunSettings, inputs: VideoInputs, answers: list[Answer]) -> str:
    lines = [f"video: {describe_video(inputs)}", f"run:   {describe_run(run)}",
             f"time:  {inputs.seconds_used()}"]
    warning = random_init_line(run)
    if warning:
        lines.append(f"NOTE:  {warning}")
    for n, ans in enumerate(answers, 1):
        a = ans.asked
        lines += ["", f"Q{n}: {a.text}", f"  type: {type_line(ans)}"]
        if a.unknown:
            lines.append(f"  unknown words (read as <unk>): {', '.join(a.unknown)}")
        if a.ignored:
            lines.append(f"  words past the first 14, not read: {' '.join(a.ignored)}")
        if ans.scope:
            lines.append(f"  ranked among: {ans.scope}")
        lines.append("  answers: " + " | ".join(f"{t} {p:.3f}" for t, p in ans.top))
        if ans.clues:
            lines.append("  key clues (seconds kept by the aggregator, attention weight):")
            width = max(len(c.label) for c in ans.clues)
            lines += [f"    {c.label:<{width}}  {clue_line(c)}" for c in ans.clues]
        else:
            lines.append("  key clues: this model has no aggregator")
    return "\n".join(lines)


# --- HTML --------------------------------------------------------------------------------------

def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def thumbnails(frames: list[bytes]) -> list[tuple[str, int, int]]:
    """(data URI, width, height) of each frame scaled to THUMB_HEIGHT."""
    from PIL import Image

    out = []
    for jpeg in frames:
        with Image.open(io.BytesIO(jpeg)) as image:
            w = max(1, round(image.width * THUMB_HEIGHT / image.height))
            small = image.convert("RGB").resize((w, THUMB_HEIGHT), Image.BICUBIC)
            buf = io.BytesIO()
            small.save(buf, format="JPEG", quality=85)
        out.append((_data_uri("image/jpeg", buf.getvalue()), w, THUMB_HEIGHT))
    return out


def attention_plot(answer: Answer, seconds: int) -> bytes:
    """PNG of the attention over time, one panel per stream, one line per aggregator level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    streams = [s for s in ("audio", "visual") if any(c.stream == s for c in answer.clues)]
    fig, axes = plt.subplots(1, len(streams), figsize=(PLOT_SIZE[0] / 100, PLOT_SIZE[1] / 100), dpi=100,
                             squeeze=False)
    x = np.arange(seconds)
    for ax, stream in zip(axes[0], streams):
        for c in [c for c in answer.clues if c.stream == stream]:
            ax.plot(x, c.attention, "--" if c.level == "low" else "-", color=COLOURS[stream],
                    label={"low": "encoder", "high": "blocks"}.get(c.level, c.level))
            ax.plot(c.kept, c.weights, "o", color=COLOURS[stream], markersize=5)
        ax.set_title(f"{stream}: attention (dots: kept)", fontsize=9)
        ax.set_xlabel("second", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, title="features", title_fontsize=7)
        ax.set_ylim(bottom=0)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def wav_bytes(inputs: VideoInputs) -> bytes:
    """The audio stage's WAV, cut to the real sound (the padding repeats its last second)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.wav"
        write_wav(path, inputs.samples[: max(1, inputs.audio_length) * SAMPLE_RATE])
        return path.read_bytes()


_CSS = """
body{font-family:sans-serif;margin:16px;color:#222}
h1{font-size:20px} h2{font-size:16px;margin:24px 0 6px}
.meta{color:#555;font-size:13px} table.ans td{padding:2px 10px;font-size:14px}
.filmstrip{display:flex;gap:4px;overflow-x:auto;padding:4px 0}
.frame{display:flex;flex-direction:column;align-items:center;font-size:11px;color:#555}
.frame img{display:block;border:3px solid transparent}
.frame.v img{border-color:%(visual)s} .frame.pad img{opacity:.4}
.bar{height:5px;width:100%%;margin-top:2px} .frame.a .bar{background:%(audio)s}
.v-key{color:%(visual)s;font-weight:bold} .a-key{color:%(audio)s;font-weight:bold}
.clues{font-size:13px}
.warn{color:#c92a2a;font-weight:bold;font-size:14px}
""" % COLOURS


def _answer_section(n: int, ans: Answer, thumbs: list[tuple[str, int, int]], seconds: int,
                    length: int) -> str:
    a = ans.asked
    e = html.escape
    kept = {s: {k for c in ans.clues if c.stream == s for k in c.kept} for s in ("audio", "visual")}
    rows = "".join(f"<tr><td>{e(t)}</td><td>{p:.3f}</td></tr>" for t, p in ans.top)
    parts = [f"<section><h2>Q{n}: {e(a.text)}</h2>",
             f"<p class='meta'>type: {e(type_line(ans))}</p>"]
    if a.unknown:
        parts.append(f"<p class='meta'>unknown words (read as &lt;unk&gt;): {e(', '.join(a.unknown))}</p>")
    if ans.scope:
        parts.append(f"<p class='meta scope'>ranked among: {e(ans.scope)}</p>")
    parts.append(f"<table class='ans'><tr><th>answer</th><th>probability</th></tr>{rows}</table>")
    if ans.clues:
        parts.append("<p class='clues'>key clues: frames framed in <span class='v-key'>orange</span>: "
                     "seconds kept for visual; <span class='a-key'>blue bar</span>: kept for audio "
                     "(by either aggregator call); faded: padding past the video's end</p>")
        parts.append("<ul class='clues'>" + "".join(
            f"<li>{e(c.label)}: {e(clue_line(c))}</li>" for c in ans.clues) + "</ul>")
    cells = []
    for s, (uri, w, h) in enumerate(thumbs):
        cls = ("frame" + (" v" if s in kept["visual"] else "") + (" a" if s in kept["audio"] else "")
               + (" pad" if s >= length else ""))
        cells.append(f"<div class='{cls}'><img class='thumb' src='{uri}' width='{w}' height='{h}' "
                     f"alt='second {s}'><div class='bar'></div>{s} s</div>")
    parts.append(f"<div class='filmstrip' id='filmstrip-{n}'>{''.join(cells)}</div>")
    if ans.clues:
        plot = _data_uri("image/png", attention_plot(ans, seconds))
        parts.append(f"<img class='plot' id='plot-{n}' src='{plot}' width='{PLOT_SIZE[0]}' "
                     f"height='{PLOT_SIZE[1]}' alt='attention over time'>")
    return "".join(parts) + "</section>"


def html_page(run: RunSettings, inputs: VideoInputs, answers: list[Answer]) -> str:
    e = html.escape
    thumbs = thumbnails(inputs.frames)
    audio = ("<p class='meta'>the video has no audio stream (the model heard silence)</p>"
             if inputs.no_audio else
             f"<audio controls src='{_data_uri('audio/wav', wav_bytes(inputs))}'></audio>")
    body = "".join(_answer_section(n, a, thumbs, inputs.seconds, inputs.length)
                   for n, a in enumerate(answers, 1))
    warning = random_init_line(run)
    warn = f"<p class='warn' id='random-init'>{e(warning)}</p>" if warning else ""
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>mcd ask: {e(inputs.path.name)}"
            f"</title><style>{_CSS}</style></head><body><h1>mcd ask: {e(inputs.path.name)}</h1>"
            f"<p class='meta'>video: {e(describe_video(inputs))}<br>run: {e(describe_run(run))}<br>"
            f"time: {e(inputs.seconds_used())}</p>{warn}"
            f"{audio}{body}</body></html>\n")


def write_html(path: str | Path, run: RunSettings, inputs: VideoInputs, answers: list[Answer]) -> Path:
    write_text(path, html_page(run, inputs, answers))
    return Path(path)
