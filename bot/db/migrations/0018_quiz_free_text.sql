-- Free-text quiz questions (issue 20): what the member typed, kept with their answer (choice is -1 then).
ALTER TABLE quiz_answers ADD COLUMN text TEXT;
