-- duet's example database: a small company. Every SQL run starts from it unless
-- "Start from the example database" is unticked in the output panel.

CREATE TABLE departments (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  city TEXT NOT NULL
);

CREATE TABLE employees (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL,
  department_id INTEGER REFERENCES departments(id),
  manager_id    INTEGER REFERENCES employees(id),
  title         TEXT NOT NULL,
  salary        INTEGER NOT NULL,
  hired         TEXT NOT NULL
);

CREATE TABLE projects (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL,
  department_id INTEGER NOT NULL REFERENCES departments(id),
  budget        INTEGER NOT NULL,
  started       TEXT NOT NULL,
  finished      TEXT
);

CREATE TABLE assignments (
  employee_id INTEGER NOT NULL REFERENCES employees(id),
  project_id  INTEGER NOT NULL REFERENCES projects(id),
  role        TEXT NOT NULL,
  hours       INTEGER NOT NULL,
  PRIMARY KEY (employee_id, project_id)
);

INSERT INTO departments (id, name, city) VALUES
  (1, 'Engineering', 'Berlin'),
  (2, 'Design', 'Lisbon'),
  (3, 'Sales', 'New York'),
  (4, 'Support', 'Nairobi'),
  (5, 'Research', 'Osaka');

INSERT INTO employees (id, name, department_id, manager_id, title, salary, hired) VALUES
  (1, 'Amara Okafor', 1, NULL, 'VP Engineering', 185000, '2016-03-01'),
  (2, 'Lin Wei', 1, 1, 'Staff Engineer', 162000, '2017-07-15'),
  (3, 'Diego Fernández', 1, 1, 'Senior Engineer', 138000, '2019-01-07'),
  (4, 'Priya Raman', 1, 2, 'Engineer', 112000, '2021-09-20'),
  (5, 'Tomás Novak', 1, 2, 'Engineer', 108000, '2022-02-14'),
  (6, 'Sofia Rossi', 2, NULL, 'Head of Design', 150000, '2018-05-02'),
  (7, 'Kenji Watanabe', 2, 6, 'Product Designer', 118000, '2020-11-11'),
  (8, 'Hannah Schmidt', 2, 6, 'Product Designer', 115000, '2021-04-19'),
  (9, 'Marcus Johnson', 3, NULL, 'Head of Sales', 160000, '2017-01-09'),
  (10, 'Fatima Zahra', 3, 9, 'Account Executive', 96000, '2020-06-01'),
  (11, 'Oliver Brown', 3, 9, 'Account Executive', 94000, '2023-03-13'),
  (12, 'Wanjiru Kamau', 4, NULL, 'Support Lead', 98000, '2019-08-26'),
  (13, 'Ahmed Hassan', 4, 12, 'Support Engineer', 78000, '2022-10-03'),
  (14, 'Yuki Tanaka', 5, NULL, 'Research Lead', 170000, '2018-02-12'),
  (15, 'Elena Petrova', 5, 14, 'Research Scientist', 145000, '2020-01-27'),
  (16, 'Noah Williams', NULL, NULL, 'Intern', 40000, '2024-06-03');

INSERT INTO projects (id, name, department_id, budget, started, finished) VALUES
  (1, 'Realtime editor', 1, 400000, '2023-01-09', '2023-11-30'),
  (2, 'Mobile app', 1, 650000, '2024-02-05', NULL),
  (3, 'Design system', 2, 120000, '2022-09-12', '2023-06-30'),
  (4, 'Enterprise deals', 3, 90000, '2024-01-15', NULL),
  (5, 'Help center', 4, 60000, '2023-05-22', '2023-12-15'),
  (6, 'Speech models', 5, 900000, '2023-10-02', NULL);

INSERT INTO assignments (employee_id, project_id, role, hours) VALUES
  (2, 1, 'lead', 820),
  (3, 1, 'developer', 1040),
  (4, 1, 'developer', 760),
  (7, 1, 'designer', 310),
  (3, 2, 'lead', 640),
  (4, 2, 'developer', 590),
  (5, 2, 'developer', 880),
  (8, 2, 'designer', 450),
  (6, 3, 'lead', 400),
  (7, 3, 'designer', 700),
  (8, 3, 'designer', 650),
  (9, 4, 'lead', 300),
  (10, 4, 'seller', 520),
  (11, 4, 'seller', 480),
  (12, 5, 'lead', 260),
  (13, 5, 'writer', 410),
  (7, 5, 'designer', 120),
  (14, 6, 'lead', 900),
  (15, 6, 'scientist', 1300),
  (2, 6, 'advisor', 80);
