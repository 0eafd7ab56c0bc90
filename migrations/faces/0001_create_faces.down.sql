DROP INDEX encodings_model;
DROP INDEX encodings_person;
DROP TABLE encodings;
DROP TABLE face_models;
DROP INDEX persons_list_name;
DROP TABLE persons;
