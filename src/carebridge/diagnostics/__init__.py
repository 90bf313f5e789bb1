"""Remote diagnosis: orders from sending facilities, the studies that arrive for them (images, ECGs,
slides), the reading hub's worklist and the signed reports that go back."""
