"""The rolling per-device recording (``[lab.recording]`` in lab.toml) and its methods.

Every device's video is kept for the last ``seconds`` as JPEG frames at ``fps``, in
memory or on disk (see :mod:`.recorder` for why), and served in bounded chunks by
``RecordingMethods``; the plugin cuts clips of failed tests from it.

Modules: :mod:`.store` (the bounded frame stores), :mod:`.recorder` (the worker),
:mod:`.methods` (the exposed methods; imported by the service only, since it needs
:mod:`lab_daemon.exposing`, which needs :mod:`lab_daemon.host`, which starts recorders).
"""
