"""Backbones: the registry of visual and audio networks, each with its preprocessing, their weight
sources and loading (VGGish, PANNs CNN14, ResNet, CLIP, Swin-V2).
"""
