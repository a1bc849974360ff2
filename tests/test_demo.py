"""The demo dataset: MUSIC-AVQA format, answers true to the scene, splits, determinism, real media."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from mcd_core import cli
from mcd_core.demo import media as demo_media
from mcd_core.demo.dataset import DemoConfig, DemoDataError, build_dataset, encode_videos, write_dataset
from mcd_core.demo.media import FfmpegEncodeError, MediaFormat, encode_scene
from mcd_core.demo.questions import TEMPLATES
from mcd_core.demo.scene import INSTRUMENTS, Scene, Source
from mcd_core.media.ffmpeg import ffmpeg_executable

REAL_ANNOTATIONS = Path("/work/shared/data/music_avqa/json_update")
KEYS = ["video_id", "question_id", "type", "question_content", "templ_values", "question_deleted", "anser"]
SMALL = MediaFormat(width=160, height=120, fps=12, sample_rate=22050)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> Path:
    """A default-size run without media: scenes.json and the annotation files."""
    out = tmp_path_factory.mktemp("demo_default")
    write_dataset(DemoConfig(), out, media=False, progress=False)
    return out


def load_split(out: Path, split: str) -> list[dict]:
    return json.loads((out / "annotations" / f"avqa-{split}.json").read_text())


def all_records(out: Path) -> list[dict]:
    return [r for split in ("train", "val", "test") for r in load_split(out, split)]


# --- format ---------------------------------------------------------------------------------

def test_records_have_music_avqa_format(default_run):
    records = all_records(default_run)
    assert 2400 <= len(records) <= 2700  # 150 videos, up to 24 questions each (one per template)
    for r in records:
        assert list(r) == KEYS
        assert re.fullmatch(r"\d{8}", r["video_id"])
        assert isinstance(r["question_id"], int) and r["question_deleted"] == 0
        qtype, values = json.loads(r["type"]), json.loads(r["templ_values"])
        assert isinstance(qtype, list) and len(qtype) == 2
        assert isinstance(values, list) and all(isinstance(v, str) for v in values)
        assert len(re.findall(r"<[A-Za-z]+>", r["question_content"])) == len(values)
        assert isinstance(r["anser"], str) and r["anser"]
    ids = [r["question_id"] for r in records]
    assert len(set(ids)) == len(ids)


def test_templates_are_the_real_ones_with_their_real_types():
    if not REAL_ANNOTATIONS.is_dir():
        pytest.skip("real MUSIC-AVQA annotations not available")
    real = {}
    for path in REAL_ANNOTATIONS.glob("avqa-*.json"):
        for r in json.loads(path.read_text()):
            real.setdefault(r["question_content"], tuple(json.loads(r["type"])))
    ours = {t.text: t.qtype for t in TEMPLATES}
    assert ours == real


def test_default_run_covers_every_template_and_all_nine_types(default_run):
    records = all_records(default_run)
    assert len({r["question_content"] for r in records}) == 33
    per_type = defaultdict(set)
    for r in records:
        per_type[r["type"]].add(r["question_content"])
    assert len(per_type) == 9
    assert all(len(templates) >= 3 for templates in per_type.values())


def test_per_template_answer_prior_is_weak(default_run):
    """Always answering a template's most common answer must stay far from perfect."""
    by_template = defaultdict(Counter)
    for r in all_records(default_run):
        by_template[r["question_content"]][r["anser"]] += 1
    prior_correct = sum(c.most_common(1)[0][1] for c in by_template.values())
    assert prior_correct / sum(sum(c.values()) for c in by_template.values()) < 0.45
    for text, counts in by_template.items():
        if set(counts) == {"yes", "no"}:
            assert max(counts.values()) / sum(counts.values()) <= 0.6, text


# --- answers recomputed from scenes.json, independently of the generator -----------------------

def _answer_from_scene(text: str, values: list[str], scene: dict) -> str | None:
    """Reference answers for a few templates, from the plain JSON scene (None: not checked)."""
    sources = scene["sources"]
    sides = ["left", "middle", "right"]
    shown = sorted((s for s in sources if s["position"]), key=lambda s: sides.index(s["position"]))
    heard = [s for s in sources if s["spans"]]
    words = ["zero", "one", "two", "three", "four", "five"]
    yn = lambda flag: "yes" if flag else "no"  # noqa: E731
    if text == "Is there a <Object> in the entire video?":
        return yn(any(s["instrument"] == values[0] for s in shown))
    if text == "How many instruments are sounding in the video?":
        return words[sum(1 for s in shown if s["spans"])]
    if text == "How many musical instruments were heard throughout the video?":
        return words[len(heard)]
    if text == "Where is the performance?":
        return scene["setting"]
    if text == "Is there a voiceover?":
        return yn(bool(scene["voiceover_spans"]))
    if text == "Is this sound from the instrument in the video?":
        return yn(all(s["position"] for s in heard))
    if text == "What kind of instrument is the <LRer> instrument? ":
        return (shown[0] if values[0] == "leftest" else shown[-1])["instrument"]
    if text == "Is the <Object> louder than the <Object>?":
        gain = {s["instrument"]: s["gain"] for s in heard}
        return yn(gain[values[0]] > gain[values[1]])
    if text == "What is the <TH> instrument that comes in?":
        order = sorted(heard, key=lambda s: s["spans"][0][0])
        return order[["first", "second", "third"].index(values[0])]["instrument"]
    if text == "How many <Object> are in the entire video?":
        return words[sum(1 for s in shown if s["instrument"] == values[0])]
    return None


def test_answers_match_the_scenes(default_run):
    scenes = {v["video_id"]: v for v in json.loads((default_run / "scenes.json").read_text())["videos"]}
    checked = Counter()
    for r in all_records(default_run):
        values = json.loads(r["templ_values"])
        expected = _answer_from_scene(r["question_content"], values, scenes[r["video_id"]])
        if expected is not None:
            assert r["anser"] == expected, r
            checked[r["question_content"]] += 1
    assert len(checked) == 10 and min(checked.values()) >= 10


def test_split_is_by_video_about_70_15_15(default_run):
    scenes = json.loads((default_run / "scenes.json").read_text())["videos"]
    split_of = {v["video_id"]: v["split"] for v in scenes}
    assert Counter(split_of.values()) == {"train": 106, "val": 22, "test": 22}
    for split in ("train", "val", "test"):
        assert {r["video_id"] for r in load_split(default_run, split)} <= {
            vid for vid, s in split_of.items() if s == split}


def test_same_seed_gives_byte_identical_files(tmp_path, default_run):
    write_dataset(DemoConfig(), tmp_path / "again", media=False, progress=False)
    write_dataset(DemoConfig(seed=1), tmp_path / "other", media=False, progress=False)
    for name in ("scenes.json", "annotations/avqa-train.json", "annotations/avqa-val.json",
                 "annotations/avqa-test.json"):
        assert (tmp_path / "again" / name).read_bytes() == (default_run / name).read_bytes()
        assert (tmp_path / "other" / name).read_bytes() != (default_run / name).read_bytes()


# --- arguments ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, words", [
    ({"videos": 9}, "--videos"), ({"seconds": 1}, "--seconds"), ({"width": 321}, "even"),
    ({"sample_rate": 12345}, "12345"), ({"fps": 0}, "--fps"),
    ({"questions_per_video": 0}, "--questions-per-video"),
])
def test_bad_arguments_are_refused(kwargs, words):
    with pytest.raises(DemoDataError, match=words):
        build_dataset(DemoConfig(**kwargs))


def test_questions_per_video_caps_each_video_and_never_repeats_a_template(default_run):
    few = build_dataset(DemoConfig(questions_per_video=5))
    per_video = Counter(r["video_id"] for records in few.annotations.values() for r in records)
    assert set(per_video.values()) == {5}
    by_video = defaultdict(list)
    for r in all_records(default_run):
        by_video[r["video_id"]].append(r["question_content"])
    assert max(len(t) for t in by_video.values()) == 24
    assert all(len(set(t)) == len(t) for t in by_video.values())


def test_cli_reports_bad_arguments_in_one_line(tmp_path, capsys):
    assert cli.main(["demo-data", "--out-dir", str(tmp_path), "--videos", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--videos must be >= 10" in err and "got 3" in err


def test_other_arguments_in_a_used_directory_are_refused(tmp_path):
    write_dataset(DemoConfig(videos=10, seconds=3), tmp_path, media=False, progress=False)
    with pytest.raises(DemoDataError, match="other arguments"):
        write_dataset(DemoConfig(videos=10, seconds=4), tmp_path, media=False, progress=False)


# --- media ----------------------------------------------------------------------------------

def probe(path: Path) -> str:
    """`ffmpeg -i` stderr (there is no ffprobe); ffmpeg exits 1 because no output is given."""
    return subprocess.run([ffmpeg_executable(), "-hide_banner", "-i", str(path)],
                          capture_output=True, text=True).stderr


def duration_s(info: str) -> float:
    h, m, s = re.search(r"Duration: (\d+):(\d+):([\d.]+)", info).groups()
    return 3600 * int(h) + 60 * int(m) + float(s)


@pytest.fixture(scope="module")
def small_videos(tmp_path_factory):
    """Six 3-second videos of a small generated dataset."""
    out = tmp_path_factory.mktemp("demo_media")
    dataset = build_dataset(DemoConfig(videos=10, seconds=3, width=SMALL.width, height=SMALL.height))
    encode_videos(dataset.scenes[:6], SMALL, out, jobs=2, progress=False)
    return out, dataset.scenes[:6]


def test_videos_are_h264_aac_with_the_right_duration(small_videos):
    out, scenes = small_videos
    assert sorted(p.name for p in out.iterdir()) == [f"{s.video_id}.mp4" for s in scenes]
    for scene in scenes:
        info = probe(out / f"{scene.video_id}.mp4")
        assert re.search(r"Video: h264.*160x120", info), info
        assert "Audio: aac" in info and "22050 Hz" in info, info
        assert abs(duration_s(info) - 3.0) < 0.1, info


def test_rerun_skips_finished_videos_and_redoes_missing_ones(small_videos):
    out, scenes = small_videos
    first, second = out / f"{scenes[0].video_id}.mp4", out / f"{scenes[1].video_id}.mp4"
    kept = first.stat().st_mtime_ns
    second.unlink()
    encode_videos(scenes, SMALL, out, jobs=1, progress=False)
    assert first.stat().st_mtime_ns == kept
    assert abs(duration_s(probe(second)) - 3.0) < 0.1


def test_failed_encode_names_the_file_and_leaves_nothing(tmp_path, monkeypatch):
    scene = build_dataset(DemoConfig(videos=10, seconds=2)).scenes[0]
    real_command = demo_media._ffmpeg_command
    monkeypatch.setattr(demo_media, "_ffmpeg_command",
                        lambda *a: real_command(*a)[:-1] + ["-no_such_option", "1", real_command(*a)[-1]])
    target = tmp_path / "00000001.mp4"
    with pytest.raises(FfmpegEncodeError, match=r"00000001\.mp4.*no_such_option"):
        encode_scene(scene, SMALL, target)
    assert list(tmp_path.iterdir()) == []


def decode_audio(path: Path, sample_rate: int) -> np.ndarray:
    raw = subprocess.run([ffmpeg_executable(), "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1",
                          "-ar", str(sample_rate), "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype="<f4")


def decode_frame(path: Path, at_s: float, fmt: MediaFormat) -> np.ndarray:
    raw = subprocess.run([ffmpeg_executable(), "-v", "error", "-ss", str(at_s), "-i", str(path),
                          "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(fmt.height, fmt.width, 3)


def band_energy(samples: np.ndarray, sample_rate: int, start: float, end: float, hz: float) -> float:
    window = samples[int(start * sample_rate):int(end * sample_rate)]
    spectrum = np.abs(np.fft.rfft(window * np.hanning(window.size))) ** 2
    freqs = np.fft.rfftfreq(window.size, 1 / sample_rate)
    return float(spectrum[abs(freqs - hz) < 0.02 * hz].sum())


def test_a_sounding_instrument_is_heard_at_its_pitch_only_in_its_spans(tmp_path):
    violin = Source("violin", "left", ((1.0, 2.0),), gain=0.8, note_interval_s=0.5)
    cello = Source("cello", None, ((0.0, 3.0),), gain=0.8, note_interval_s=0.7)      # off screen
    drum = Source("drum", "right", (), gain=0.5, note_interval_s=0.25)               # silent
    scene = Scene("00000042", 3, "outdoor", (violin, cello, drum), voiceover_spans=((0.0, 3.0),))
    target = tmp_path / "scene.mp4"
    encode_scene(scene, SMALL, target)
    audio = decode_audio(target, SMALL.sample_rate)
    assert abs(audio.size / SMALL.sample_rate - 3.0) < 0.1
    pitch = INSTRUMENTS["violin"].pitch_hz
    inside = band_energy(audio, SMALL.sample_rate, 1.2, 1.8, pitch)
    for start in (0.2, 2.2):
        assert inside > 30 * band_energy(audio, SMALL.sample_rate, start, start + 0.6, pitch)
    # the off-screen cello sounds throughout, the silent drum never
    cello_hz, drum_hz = INSTRUMENTS["cello"].pitch_hz, INSTRUMENTS["drum"].pitch_hz
    assert band_energy(audio, SMALL.sample_rate, 0.2, 0.8, cello_hz) > 30 * band_energy(
        audio, SMALL.sample_rate, 0.2, 0.8, drum_hz)
    # and both visible instruments are drawn in their own colour at their own side
    frame = decode_frame(target, 0.5, SMALL).astype(int)
    left, right = slice(0, 60), slice(100, 160)
    for source, own, other in ((violin, left, right), (drum, right, left)):
        colour = np.array(INSTRUMENTS[source.instrument].colour)
        close = (abs(frame - colour).sum(axis=-1) < 60)
        assert close[:, own].sum() > 150 and close[:, other].sum() < 10, source.instrument
