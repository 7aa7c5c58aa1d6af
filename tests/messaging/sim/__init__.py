"""A seeded lifecycle simulation of Cradle messages with an oracle of its own.

- ``doubles``: the far ends - an SMTP relay (a Django e-mail backend) and webhook receivers
  (``responses``) that fail when the fault plan says so, and record what they accepted;
- ``oracle``: what the simulation did and saw, and the four promises of DESIGN.md checked
  from that alone (it never asks ``messaging``'s ladder or services what should happen);
- ``world``: owners who write, edit and answer through the pages and the API, a cluster
  that goes down, and a clock (time-machine) that jumps forward in random steps.
"""
