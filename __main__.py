"""Pulumi entry point, in two roles. Pulumi runs it as this project's stack program
(mailflow/program.py); another project that added this repository with `pulumi package add`
runs it as the plugin serving `MailFlowDomain` (mailflow/provider.py). Only a program is given
a resource monitor before it starts."""

from pulumi.runtime import settings

if settings.get_monitor() is None:
    from mailflow.provider import serve

    serve()
else:
    import gc

    # The imports below allocate much and free little: a collection among them would scan all the
    # SDK has loaded, for nothing (about 12 ms). run() tunes the collector for registration.
    gc.disable()
    from mailflow.program import run

    gc.enable()
    # Called from here: each call between the program and a resource's constructor is a frame of
    # the stack trace the engine keeps in state for every resource (``mailflow.targets.Pending``).
    run(owned_process=True)
