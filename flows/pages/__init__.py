"""One page object per portal page: locators as attributes, verb methods, no assertions."""
