"""`mcd ask`: answer questions about a new video with a trained run, and show its key clues.

The run's folder and its feature stores say how the video must be turned into features (backbones,
weights, frame size, log-mel settings); the video then goes through the pipeline's own stage
functions (frames, audio, log-mel, extraction) in a scratch folder, so its features are those the
pipeline would have stored. Free-form questions are tokenised like the annotations, matched
against the training templates for their type and text objects, and the model reports its top
answers with the seconds its aggregator kept for audio and for visual (`report` prints them and
writes the self-contained HTML page).

May import: mcd_core.common, mcd_core.media, mcd_core.features, mcd_core.data, mcd_core.models,
mcd_core.scoring.
"""
