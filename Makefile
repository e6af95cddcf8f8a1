# Shortcuts for the two README commands; both only call course.py (which needs nothing but Python).
.PHONY: lab test
lab:
	python3 course.py lab
test:
	python3 course.py test
