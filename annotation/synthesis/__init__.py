"""Synthesis: new items made from existing ones, pure parts only (no I/O). ``recipes`` names
what can be made and checks its parameters; ``boxes`` moves box labels exactly with an image
transform; ``templates`` expands text templates; ``audio`` mixes noise and reverb into samples;
``answers`` carries a source's known answer over to what was made from it."""
