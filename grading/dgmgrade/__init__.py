"""dgm-course grading tools: a sandbox for student code, an out-of-process verifier, and the
class-wide grading command. See grading/INSTRUCTORS.md."""
